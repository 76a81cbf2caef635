using Microsoft.AspNetCore.Authentication;
using Mailtest.Core.Tenancy;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Mailtest.Web.Accounts;

/// <summary>Local accounts, cookie sign-in, first-run setup.</summary>
public static class AccountsRegistration
{
    public const string SignInPath = "/signin";
    public const string SetupPath = "/setup";

    public static WebApplicationBuilder AddAccounts(this WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.Cookie.Name = "mailtest.auth";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest; // self-installs may start on plain HTTP
                options.LoginPath = SignInPath;
                options.AccessDeniedPath = "/";
                options.ExpireTimeSpan = TimeSpan.FromHours(12);
                options.SlidingExpiration = true;
                // A deleted account loses its session at its next request.
                options.Events.OnValidatePrincipal = async context =>
                {
                    var caller = CallerClaims.ToCaller(context.Principal!);
                    var accounts = context.HttpContext.RequestServices.GetRequiredService<AccountSignIn>();
                    if (caller is null || await accounts.FindAsync(caller.UserId, context.HttpContext.RequestAborted) is null)
                    {
                        context.RejectPrincipal();
                        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                    }
                };
            });
        builder.Services.AddAuthorization();
        builder.Services.AddCascadingAuthenticationState();
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
