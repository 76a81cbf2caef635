using System.Text;
using Mailtest.Smtp.Protocol;
using Microsoft.Extensions.Logging;

namespace Mailtest.Smtp.Session;

// AUTH: the exchange itself is SaslExchange's; here the ban, the backend's verdict and the reply.
// Credentials and AUTH payloads are never logged.
internal sealed partial class SmtpSession
{
    public async ValueTask<CommandResult> AuthAsync(AuthCommand command)
    {
        var outcome = await SaslExchange.RunAsync(command.Mechanism, command.InitialResponse, ChallengeAsync);
        if (outcome is SaslOutcome.Abandoned)
            return CommandResult.Close; // the client left mid-exchange
        if (outcome is SaslOutcome.Refused refused)
        {
            Reply(refused.Reply);
            return CommandResult.Refused;
        }
        var (username, password) = (SaslOutcome.Credentials)outcome;
        if (_services.Ban.IsBanned(RemoteAddress))
        {
            // Banned meanwhile through another connection: no more guesses on this one either.
            Reply(SmtpReplies.Banned);
            return CommandResult.Close;
        }

        SmtpLoginResult result;
        try
        {
            result = await _backend.AuthenticateAsync(username, password, Peer, Lifetime);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _services.BackendIncident.Failed(e, "checking an SMTP login threw"); // never the credentials
            Reply(SmtpReplies.TemporaryAuthenticationFailure);
            return CommandResult.Refused;
        }
        if (result is { Succeeded: true, Mailbox: { } mailbox })
        {
            _mailbox = mailbox;
            _maxMessageBytes = result.MaxMessageBytes;
            Reply(SmtpReplies.AuthSucceeded);
            return CommandResult.Succeeded;
        }
        var refusal = result.Refusal ?? SmtpReplies.AuthenticationFailed;
        if (refusal.Code == 535 && _services.Ban.RecordFailure(RemoteAddress))
        {
            _services.Logger.LogWarning("Banned {Address} after repeated failed SMTP logins", RemoteAddress);
            Reply(SmtpReplies.Banned);
            return CommandResult.Close;
        }
        Reply(refusal);
        return CommandResult.Refused;
    }

    /// <summary>Sends <c>334 prompt</c> and reads the client's answer line.</summary>
    private async ValueTask<string?> ChallengeAsync(string prompt)
    {
        ReplyLines(334, [prompt]);
        return await _connection.ReadLineAsync(
            static line => Encoding.ASCII.GetString(line), SaslExchange.OverlongAnswer, _options.CommandTimeout, SmtpReplies.CommandTimeout);
    }
}
