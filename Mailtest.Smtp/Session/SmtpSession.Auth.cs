using System.Buffers;
using System.Text;
using Mailtest.Smtp.Protocol;
using Microsoft.Extensions.Logging;

namespace Mailtest.Smtp.Session;

// AUTH PLAIN (RFC 4616) and AUTH LOGIN, with or without an initial response (RFC 4954).
// Credentials and AUTH payloads are never logged.
internal sealed partial class SmtpSession
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>What a client sent in answer to a 334 challenge, or why there is nothing to use.</summary>
    private abstract record AuthAnswer
    {
        public sealed record Decoded(string Text) : AuthAnswer;
        public sealed record Failed(SmtpReply Reply) : AuthAnswer;
    }

    public async ValueTask<CommandResult> AuthAsync(AuthCommand command)
    {
        var credentials = command.Mechanism switch
        {
            "PLAIN" => await ReadPlainAsync(command.InitialResponse),
            "LOGIN" => await ReadLoginAsync(command.InitialResponse),
            _ => new AuthAnswer.Failed(SmtpReplies.UnsupportedMechanism),
        };
        if (credentials is AuthAnswer.Failed failed)
        {
            await ReplyAsync(failed.Reply);
            return CommandResult.Refused;
        }
        if (credentials is null)
            return CommandResult.Close; // the client left mid-exchange
        var (username, password) = SplitCredentials(((AuthAnswer.Decoded)credentials).Text);
        if (_services.Ban.IsBanned(RemoteAddress))
        {
            // Banned meanwhile through another connection: no more guesses on this one either.
            await ReplyAsync(SmtpReplies.Banned);
            return CommandResult.Close;
        }

        SmtpLoginResult result;
        try
        {
            result = await _backend.AuthenticateAsync(username, password, Peer, _lifetime.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _services.Logger.LogError(e, "Checking an SMTP login from {Remote} failed", _remote); // never the credentials
            await ReplyAsync(SmtpReplies.TemporaryAuthenticationFailure);
            return CommandResult.Refused;
        }
        if (result is { Succeeded: true, Mailbox: { } mailbox })
        {
            _mailbox = mailbox;
            _maxMessageBytes = result.MaxMessageBytes;
            await ReplyAsync(SmtpReplies.AuthSucceeded);
            return CommandResult.Succeeded;
        }
        var refusal = result.Refusal ?? SmtpReplies.AuthenticationFailed;
        if (refusal.Code == 535 && _services.Ban.RecordFailure(RemoteAddress))
        {
            _services.Logger.LogWarning("Banned {Address} after repeated failed SMTP logins", RemoteAddress);
            await ReplyAsync(SmtpReplies.Banned);
            return CommandResult.Close;
        }
        await ReplyAsync(refusal);
        return CommandResult.Refused;
    }

    /// <summary>PLAIN: <c>[authzid] NUL authcid NUL passwd</c>, as the initial response or after an empty 334.</summary>
    private async ValueTask<AuthAnswer?> ReadPlainAsync(string? initialResponse)
    {
        var answer = initialResponse is null ? await ChallengeAsync("") : Decode(initialResponse);
        if (answer is AuthAnswer.Decoded { Text: var text } && text.Split('\0') is not [_, _, _])
            return new AuthAnswer.Failed(SmtpReplies.CannotDecodeResponse);
        return answer;
    }

    /// <summary>LOGIN: the user name (possibly as the initial response), then the password; joined PLAIN-style.</summary>
    private async ValueTask<AuthAnswer?> ReadLoginAsync(string? initialResponse)
    {
        var username = initialResponse is null ? await ChallengeAsync("Username:") : Decode(initialResponse);
        if (username is not AuthAnswer.Decoded { Text: var user })
            return username;
        if (user.Contains('\0'))
            return new AuthAnswer.Failed(SmtpReplies.CannotDecodeResponse);
        var password = await ChallengeAsync("Password:");
        if (password is not AuthAnswer.Decoded { Text: var secret })
            return password;
        return secret.Contains('\0') ? new AuthAnswer.Failed(SmtpReplies.CannotDecodeResponse) : new AuthAnswer.Decoded($"\0{user}\0{secret}");
    }

    private static (string Username, string Password) SplitCredentials(string plain)
    {
        var parts = plain.Split('\0');
        return (parts[1], parts[2]);
    }

    /// <summary>Sends <c>334 base64(prompt)</c> and reads the client's answer line; <c>*</c> cancels.</summary>
    private async ValueTask<AuthAnswer?> ChallengeAsync(string prompt)
    {
        await ReplyLinesAsync(334, [Convert.ToBase64String(Encoding.ASCII.GetBytes(prompt))]);
        var line = await ReadLineAsync(
            static line => Encoding.ASCII.GetString(line), "\n", _options.CommandTimeout, SmtpReplies.CommandTimeout);
        return line switch
        {
            null => null,
            "\n" => new AuthAnswer.Failed(SmtpReplies.LineTooLong),
            "*" => new AuthAnswer.Failed(SmtpReplies.AuthCancelled),
            _ => Decode(line),
        };
    }

    /// <summary>Base64 of UTF-8; <c>=</c> is the empty response (RFC 4954 §4).</summary>
    private static AuthAnswer Decode(string base64)
    {
        if (base64 == "=")
            return new AuthAnswer.Decoded("");
        var bytes = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64.Trim(), bytes, out var length))
            return new AuthAnswer.Failed(SmtpReplies.CannotDecodeResponse);
        try
        {
            return new AuthAnswer.Decoded(StrictUtf8.GetString(bytes, 0, length));
        }
        catch (DecoderFallbackException)
        {
            return new AuthAnswer.Failed(SmtpReplies.CannotDecodeResponse);
        }
    }
}
