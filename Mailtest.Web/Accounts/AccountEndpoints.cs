using Mailtest.Core.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using System.Security.Claims;

namespace Mailtest.Web.Accounts;

/// <summary>
/// The form posts of the static sign-in and setup pages (a cookie cannot be set from an
/// interactive circuit). Form-bound endpoints get antiforgery validation from UseAntiforgery.
/// </summary>
internal static class AccountEndpoints
{
    public const string OrganizationCookie = "mailtest.org";

    public static void Map(WebApplication app)
    {
        var account = app.MapGroup("/account");

        account.MapPost("/signin", async ([FromForm] string? email, [FromForm] string? password, [FromForm] string? returnUrl,
            HttpContext http, AccountSignIn accounts) =>
        {
            var result = await accounts.SignInAsync(email ?? "", password ?? "", RemoteAddress(http), http.RequestAborted);
            if (result.Outcome != SignInOutcome.SignedIn)
            {
                var error = result.Outcome switch
                {
                    SignInOutcome.Throttled => $"throttled&wait={Math.Ceiling(result.RetryAfter!.Value.TotalSeconds):0}",
                    SignInOutcome.Deactivated => "deactivated",
                    _ => "invalid",
                };
                return Results.LocalRedirect($"{AccountsRegistration.SignInPath}?error={error}&returnUrl={Uri.EscapeDataString(LocalOrHome(returnUrl))}");
            }
            await SignInCookieAsync(http, result.User!);
            return Results.LocalRedirect(LocalOrHome(returnUrl));
        }).AllowAnonymous();

        account.MapPost("/setup", async ([FromForm] string? email, [FromForm] string? password, [FromForm] string? confirmPassword,
            HttpContext http, FirstRunSetup setup) =>
        {
            if (password != confirmPassword)
                return Results.LocalRedirect($"{AccountsRegistration.SetupPath}?error={Uri.EscapeDataString("The two passwords differ.")}");
            try
            {
                var admin = await setup.CreateFirstAdministratorAsync(email ?? "", password ?? "", http.RequestAborted);
                await SignInCookieAsync(http, admin);
                return Results.LocalRedirect("/organizations");
            }
            catch (TenancyException e)
            {
                return Results.LocalRedirect($"{AccountsRegistration.SetupPath}?error={Uri.EscapeDataString(e.Message)}");
            }
        }).AllowAnonymous();

        account.MapPost("/signout", async ([FromForm] string? returnUrl, HttpContext http, AccountSessions sessions) =>
        {
            // A new security stamp, so that a copy of this cookie stops working too, not only this browser's.
            if (CallerClaims.ToCaller(http.User, RemoteAddress(http)) is { } caller)
                await sessions.SignOutAsync(caller, http.RequestAborted);
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect(AccountsRegistration.SignInPath);
        }).RequireAuthorization();

        // Which organization the dashboard shows is a view preference, not a permission: every page
        // still checks membership. A cookie keeps it across page loads.
        account.MapPost("/organization", ([FromForm] Guid organizationId, [FromForm] string? returnUrl, HttpContext http) =>
        {
            http.Response.Cookies.Append(OrganizationCookie, organizationId.ToString(), new CookieOptions
            {
                HttpOnly = true, SameSite = SameSiteMode.Lax, IsEssential = true, Secure = http.Request.IsHttps, MaxAge = TimeSpan.FromDays(365),
            });
            return Results.LocalRedirect(LocalOrHome(returnUrl));
        }).RequireAuthorization();
    }

    internal static string? RemoteAddress(HttpContext http) => http.Connection.RemoteIpAddress?.ToString();

    private static Task SignInCookieAsync(HttpContext http, UserAccount user) =>
        http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
            new ClaimsPrincipal(new ClaimsIdentity(CallerClaims.For(user), CookieAuthenticationDefaults.AuthenticationScheme)));

    /// <summary>
    /// The return address if it is a path on this site, else the home page. Anything else a browser could
    /// read as another site (<c>//host</c>, <c>/\host</c>, or control characters such as a tab, which
    /// browsers strip from URLs) is ignored, never followed and never an error.
    /// </summary>
    internal static string LocalOrHome(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//") && !returnUrl.StartsWith("/\\")
        && !returnUrl.Any(char.IsControl) ? returnUrl : "/";
}
