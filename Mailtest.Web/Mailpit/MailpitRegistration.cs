using Microsoft.AspNetCore.Authentication;

namespace Mailtest.Web.Mailpit;

/// <summary>The Mailpit-compatible endpoints: <c>/mailpit/{environmentId}/api/v1/...</c> and <c>/view/...</c>.</summary>
public static class MailpitRegistration
{
    public const string Policy = "mailpit";

    public static WebApplicationBuilder AddMailpitCompatibility(this WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, MailpitBasicAuthentication>(MailpitBasicAuthentication.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Policy, policy => policy.AddAuthenticationSchemes(MailpitBasicAuthentication.SchemeName).RequireAuthenticatedUser());
        return builder;
    }

    /// <summary>
    /// cypress-mailpit builds <c>{base}//view/{ID}.html</c> (an empty "api" segment); Mailpit's Go router
    /// cleans such paths, so this does too, for the Mailpit prefix only. Must run before routing.
    /// </summary>
    public static WebApplication UseMailpitPaths(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            var path = context.Request.Path.Value;
            if (path is not null && path.StartsWith(MailpitEndpoints.Prefix + "/", StringComparison.Ordinal) && path.Contains("//", StringComparison.Ordinal))
            {
                while (path.Contains("//", StringComparison.Ordinal)) path = path.Replace("//", "/", StringComparison.Ordinal);
                context.Request.Path = path;
            }
            return next(context);
        });
        return app;
    }

    public static WebApplication MapMailpitCompatibility(this WebApplication app)
    {
        var mailpit = app.MapGroup(MailpitEndpoints.Prefix + "/{environmentId:guid}")
            .RequireAuthorization(Policy)
            .AddEndpointFilter<MailpitErrors>()
            .ExcludeFromDescription();
        MailpitEndpoints.Map(mailpit);
        return app;
    }
}
