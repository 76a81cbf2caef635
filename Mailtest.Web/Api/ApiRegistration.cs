using Microsoft.AspNetCore.Authentication;

namespace Mailtest.Web.Api;

/// <summary>The HTTP API under /api/v1 with bearer tokens.</summary>
public static class ApiRegistration
{
    public const string Policy = "api";

    public static WebApplicationBuilder AddMailtestApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiTokenAuthentication>(ApiTokenAuthentication.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Policy, policy => policy.AddAuthenticationSchemes(ApiTokenAuthentication.SchemeName).RequireAuthenticatedUser());
        return builder;
    }

    public static WebApplication MapMailtestApi(this WebApplication app)
    {
        // Refusals become problem details in RefusalProblems, for every endpoint alike.
        var api = app.MapGroup("/api/v1")
            .RequireAuthorization(Policy);
        EnvironmentEndpoints.Map(api);
        SmtpFaultEndpoints.Map(api);
        WebhookEndpoints.Map(api);
        return app;
    }
}
