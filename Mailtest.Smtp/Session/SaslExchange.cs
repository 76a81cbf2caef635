using System.Text;
using Mailtest.Smtp.Protocol;

namespace Mailtest.Smtp.Session;

/// <summary>What an AUTH exchange produced: the credentials, or the reply that refuses it.</summary>
internal abstract record SaslOutcome
{
    public sealed record Credentials(string Username, string Password) : SaslOutcome;
    public sealed record Refused(SmtpReply Reply) : SaslOutcome;
    /// <summary>The client left mid-exchange.</summary>
    public sealed record Abandoned : SaslOutcome;
}

/// <summary>
/// AUTH PLAIN (RFC 4616) and AUTH LOGIN, with or without an initial response (RFC 4954), apart from
/// the connection: <c>challenge</c> sends a 334 with its prompt and returns the client's answer line
/// (null when the client left, <c>"\n"</c> when the line was too long). Credentials are never logged.
/// </summary>
internal static class SaslExchange
{
    /// <summary>Stands for a challenge answer longer than a command line may be.</summary>
    public const string OverlongAnswer = "\n";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static async ValueTask<SaslOutcome> RunAsync(string mechanism, string? initialResponse, Func<string, ValueTask<string?>> challenge) =>
        mechanism switch
        {
            "PLAIN" => await PlainAsync(initialResponse, challenge),
            "LOGIN" => await LoginAsync(initialResponse, challenge),
            _ => new SaslOutcome.Refused(SmtpReplies.UnsupportedMechanism),
        };

    /// <summary>PLAIN: <c>[authzid] NUL authcid NUL passwd</c>, as the initial response or after an empty 334.</summary>
    private static async ValueTask<SaslOutcome> PlainAsync(string? initialResponse, Func<string, ValueTask<string?>> challenge)
    {
        var answer = initialResponse is null ? await AskAsync("", challenge) : Decode(initialResponse);
        if (answer is not Answer.Decoded { Text: var text })
            return ((Answer.Stop)answer).Outcome;
        return text.Split('\0') is [_, var user, var password]
            ? new SaslOutcome.Credentials(user, password)
            : new SaslOutcome.Refused(SmtpReplies.CannotDecodeResponse);
    }

    /// <summary>LOGIN: the user name (possibly as the initial response), then the password.</summary>
    private static async ValueTask<SaslOutcome> LoginAsync(string? initialResponse, Func<string, ValueTask<string?>> challenge)
    {
        var username = initialResponse is null ? await AskAsync("Username:", challenge) : Decode(initialResponse);
        if (username is not Answer.Decoded { Text: var user })
            return ((Answer.Stop)username).Outcome;
        if (user.Contains('\0'))
            return new SaslOutcome.Refused(SmtpReplies.CannotDecodeResponse);
        var password = await AskAsync("Password:", challenge);
        if (password is not Answer.Decoded { Text: var secret })
            return ((Answer.Stop)password).Outcome;
        return secret.Contains('\0')
            ? new SaslOutcome.Refused(SmtpReplies.CannotDecodeResponse)
            : new SaslOutcome.Credentials(user, secret);
    }

    private static async ValueTask<Answer> AskAsync(string prompt, Func<string, ValueTask<string?>> challenge) =>
        await challenge(Convert.ToBase64String(Encoding.ASCII.GetBytes(prompt))) switch
        {
            null => new Answer.Stop(new SaslOutcome.Abandoned()),
            OverlongAnswer => Refuse(SmtpReplies.LineTooLong),
            "*" => Refuse(SmtpReplies.AuthCancelled),
            var line => Decode(line),
        };

    /// <summary>Base64 of UTF-8; <c>=</c> is the empty response (RFC 4954 §4).</summary>
    private static Answer Decode(string base64)
    {
        if (base64 == "=")
            return new Answer.Decoded("");
        var bytes = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64.Trim(), bytes, out var length))
            return Refuse(SmtpReplies.CannotDecodeResponse);
        try
        {
            return new Answer.Decoded(StrictUtf8.GetString(bytes, 0, length));
        }
        catch (DecoderFallbackException)
        {
            return Refuse(SmtpReplies.CannotDecodeResponse);
        }
    }

    private static Answer.Stop Refuse(SmtpReply reply) => new(new SaslOutcome.Refused(reply));

    /// <summary>One answer of the client: decoded text (not yet known to be well-formed), or the end of the exchange.</summary>
    private abstract record Answer
    {
        public sealed record Decoded(string Text) : Answer;
        public sealed record Stop(SaslOutcome Outcome) : Answer;
    }
}
