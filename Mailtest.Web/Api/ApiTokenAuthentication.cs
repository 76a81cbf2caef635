using System.Security.Claims;
using System.Text.Encodings.Web;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Mailtest.Web.Api;

/// <summary>
/// <c>Authorization: Bearer &lt;token&gt;</c> for the HTTP API. No cookie is ever read here, so the API
/// cannot be driven by a cross-site form and needs no antiforgery token.
/// </summary>
public sealed class ApiTokenAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiTokens tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiToken";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header) || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return AuthenticateResult.NoResult();
        return await AuthenticateAsync(tokens, header["Bearer ".Length..].Trim(), SchemeName, Context.RequestAborted);
    }

    /// <summary>
    /// The one way an API token becomes a caller, for every scheme that carries one (this Bearer
    /// header, the Mailpit endpoints' Basic password): an environment token or a member's token.
    /// </summary>
    public static async Task<AuthenticateResult> AuthenticateAsync(ApiTokens tokens, string token, string scheme, CancellationToken cancellationToken)
    {
        var holder = await tokens.ResolveAsync(token, cancellationToken);
        if (holder is null) return AuthenticateResult.Fail("Unknown or revoked API token.");
        var claims = holder.Environment is { } environment ? CallerClaims.For(environment) : CallerClaims.For(holder.User!);
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, scheme));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in required",
            detail: "Send an API token as 'Authorization: Bearer <token>'. Create one on your account page in the dashboard.").ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
            detail: "Your API token does not allow this.").ExecuteAsync(Context);
}
