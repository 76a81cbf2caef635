using System.Text;
using System.Text.Encodings.Web;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Mailtest.Web.Mailpit;

/// <summary>
/// HTTP Basic authentication for the Mailpit-compatible endpoints, which is what Mailpit's clients
/// send: the password is a Mailtest API token (an environment token or a member's token), the user
/// name is ignored (a Bearer token works too). The token is checked exactly as the API checks it
/// (<see cref="ApiTokenAuthentication.AuthenticateAsync"/>). Answers as Mailpit does, in plain text, with a Basic challenge.
/// </summary>
public sealed class MailpitBasicAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiTokens tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "MailpitBasic";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        string token;
        if (header?.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) == true)
            token = header["Bearer ".Length..].Trim();
        else if (header?.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) == true)
        {
            string decoded;
            try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim())); }
            catch (FormatException) { return AuthenticateResult.Fail("The Basic credentials are not base64."); }
            var separator = decoded.IndexOf(':');
            if (separator < 0) return AuthenticateResult.Fail("The Basic credentials have no password.");
            token = decoded[(separator + 1)..];
        }
        else return AuthenticateResult.NoResult();
        return await ApiTokenAuthentication.AuthenticateAsync(tokens, token, SchemeName, Context.RequestAborted);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Basic realm=\"Mailtest\", charset=\"UTF-8\"";
        Response.ContentType = "text/plain; charset=utf-8";
        await Response.WriteAsync("Unauthorised: send HTTP Basic authentication whose password is a Mailtest API token " +
            "(create one on the environment's Mailtest tab); the user name can be anything.");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        Response.ContentType = "text/plain; charset=utf-8";
        await Response.WriteAsync("Your API token does not allow this.");
    }
}
