using System.Text;
using System.Text.Encodings.Web;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Mailtest.Web.Mailpit;

/// <summary>
/// HTTP Basic authentication for the Mailpit-compatible endpoints, which is what Mailpit's clients
/// send: the password is a Mailtest API token, checked exactly as the API checks a Bearer token (which
/// works here too); the user name is ignored. Answers as Mailpit does, in plain text, with a Basic challenge.
/// </summary>
public sealed class MailpitBasicAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiTokens tokens)
    : ApiTokenAuthentication(options, logger, encoder, tokens)
{
    public new const string SchemeName = "MailpitBasic";

    protected override (string? Token, string? Failure) ReadToken(string? authorization)
    {
        if (authorization?.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) != true) return base.ReadToken(authorization);
        string decoded;
        try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..].Trim())); }
        catch (FormatException) { return (null, "The Basic credentials are not base64."); }
        var separator = decoded.IndexOf(':');
        return separator < 0 ? (null, "The Basic credentials have no password.") : (decoded[(separator + 1)..], null);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Basic realm=\"Mailtest\", charset=\"UTF-8\"";
        await Answer(StatusCodes.Status401Unauthorized, "Unauthorised: send HTTP Basic authentication whose password is a Mailtest API token " +
            "(create one on the environment's Mailtest tab); the user name can be anything.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Answer(StatusCodes.Status403Forbidden, "Your API token does not allow this.");

    private Task Answer(int status, string sentence) => MailpitEndpoints.Error(status, sentence).ExecuteAsync(Context);
}
