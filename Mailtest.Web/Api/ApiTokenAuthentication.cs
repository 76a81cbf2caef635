using System.Security.Claims;
using System.Text.Encodings.Web;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Mailtest.Web.Api;

/// <summary>
/// <c>Authorization: Bearer &lt;token&gt;</c> for the HTTP API. No cookie is ever read here, so the API
/// cannot be driven by a cross-site form and needs no antiforgery token. An API token (an environment
/// token or a member's token) becomes a caller here only; a scheme that carries the token another way
/// (the Mailpit endpoints' Basic password) overrides <see cref="ReadToken"/> and how it answers.
/// </summary>
public class ApiTokenAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiTokens tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiToken";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var (token, failure) = ReadToken(Request.Headers.Authorization);
        if (failure is not null) return AuthenticateResult.Fail(failure);
        if (token is null) return AuthenticateResult.NoResult();
        var holder = await tokens.ResolveAsync(token, Context.RequestAborted);
        if (holder is null) return AuthenticateResult.Fail("Unknown or revoked API token.");
        var claims = holder.Environment is { } environment ? CallerClaims.For(environment) : CallerClaims.For(holder.User!);
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    /// <summary>The token the request carries; no token and no failure when it carries none (another scheme may apply).</summary>
    protected virtual (string? Token, string? Failure) ReadToken(string? authorization) =>
        authorization?.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) == true
            ? (authorization["Bearer ".Length..].Trim(), null)
            : (null, null);

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
