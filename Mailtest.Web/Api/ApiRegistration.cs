using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Mailtest.Web.Api;

/// <summary>The HTTP API under /api/v1 with bearer tokens.</summary>
public static class ApiRegistration
{
    public const string Policy = "api";

    /// <summary>
    /// For the routes a browser's own API (EventSource) calls, which cannot send an Authorization
    /// header: a bearer token when there is one, else the signed-in dashboard cookie. Read-only routes
    /// only, so a cross-site page gains nothing (it cannot read the answer without CORS).
    /// </summary>
    public const string BrowserPolicy = "api-or-browser";
    private const string TokenOrCookie = "ApiTokenOrCookie";

    public static WebApplicationBuilder AddMailtestApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiTokenAuthentication>(ApiTokenAuthentication.SchemeName, null)
            .AddPolicyScheme(TokenOrCookie, null, options => options.ForwardDefaultSelector = http =>
                http.Request.Headers.Authorization.Count == 0 && http.Request.Cookies.ContainsKey(Accounts.AccountsRegistration.CookieName)
                    ? CookieAuthenticationDefaults.AuthenticationScheme
                    : ApiTokenAuthentication.SchemeName);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Policy, policy => policy.AddAuthenticationSchemes(ApiTokenAuthentication.SchemeName).RequireAuthenticatedUser())
            .AddPolicy(BrowserPolicy, policy => policy.AddAuthenticationSchemes(TokenOrCookie).RequireAuthenticatedUser());
        return builder;
    }

    public static WebApplication MapMailtestApi(this WebApplication app)
    {
        // Refusals become problem details in RefusalProblems, for every endpoint alike.
        var api = app.MapGroup("/api/v1")
            .RequireAuthorization(Policy);
        EnvironmentEndpoints.Map(api);
        RetentionEndpoints.Map(api);
        ExportEndpoints.Map(api);
        ExportEndpoints.MapDownload(app);
        MessageEndpoints.Map(api);
        LiveEndpoints.Map(api, app.MapGroup("/api/v1").RequireAuthorization(BrowserPolicy));
        EnvironmentTokenEndpoints.Map(api);
        SmtpFaultEndpoints.Map(api);
        WebhookEndpoints.Map(api);
        return app;
    }
}
