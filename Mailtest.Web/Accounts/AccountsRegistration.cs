using Microsoft.AspNetCore.Authentication;
using Mailtest.Core.Tenancy;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Authorization;

namespace Mailtest.Web.Accounts;

/// <summary>Local accounts, cookie sign-in, first-run setup.</summary>
public static class AccountsRegistration
{
    public const string SignInPath = "/signin";
    public const string SetupPath = "/setup";
    public const string CookieName = "mailtest.auth";

    public static WebApplicationBuilder AddAccounts(this WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.Cookie.Name = CookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest; // self-installs may start on plain HTTP
                options.LoginPath = SignInPath;
                options.AccessDeniedPath = "/";
                options.ExpireTimeSpan = TimeSpan.FromHours(12);
                options.SlidingExpiration = true;
                // Every request: a deleted or deactivated account, or a session ended since the cookie was
                // minted (sign-out, password change, removal, "sign out everywhere"), is signed out.
                options.Events.OnValidatePrincipal = async context =>
                {
                    var access = context.HttpContext.RequestServices.GetRequiredService<CurrentAccess>();
                    if (!await CallerClaims.IsCurrentSessionAsync(context.Principal!, access, context.HttpContext.RequestAborted))
                    {
                        context.RejectPrincipal();
                        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                    }
                };
            });
        // The antiforgery cookie too is Secure whenever the request is HTTPS (behind a known proxy as well).
        builder.Services.AddAntiforgery(options => options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);
        builder.Services.AddAuthorization();
        builder.Services.AddCascadingAuthenticationState();
        // Every open circuit checks its session too (see SessionRevalidation).
        builder.Services.AddScoped<AuthenticationStateProvider, SessionRevalidation>();
        builder.Services.AddScoped<CurrentCaller>();
        builder.Services.AddScoped<SelectedOrganization>();
        return builder;
    }

    /// <summary>Authentication and authorization middleware.</summary>
    public static WebApplication UseAccounts(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>Sign-in, sign-out, setup and organization-switch endpoints.</summary>
    public static WebApplication MapAccounts(this WebApplication app)
    {
        AccountEndpoints.Map(app);
        return app;
    }
}
