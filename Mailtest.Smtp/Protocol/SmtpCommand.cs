namespace Mailtest.Smtp.Protocol;

/// <summary>The commands the engine knows (RFC 5321 §4.1, RFC 3207, RFC 4954).</summary>
internal enum SmtpVerb
{
    Unknown,
    Helo,
    Ehlo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    Rset,
    Noop,
    Vrfy,
    Quit,
}

/// <summary>A parsed command line. Owns its strings, so the input buffer can be released before it runs.</summary>
internal abstract record SmtpCommand(SmtpVerb Verb);

/// <summary>DATA, RSET, NOOP, QUIT, STARTTLS: nothing but the verb.</summary>
internal sealed record BareCommand(SmtpVerb Verb) : SmtpCommand(Verb);

internal sealed record HeloCommand(SmtpVerb Verb, string Domain) : SmtpCommand(Verb);

internal sealed record AuthCommand(string Mechanism, string? InitialResponse) : SmtpCommand(SmtpVerb.Auth);

/// <summary>MAIL FROM. <see cref="ReversePath"/> is empty for the null sender <c>&lt;&gt;</c>.</summary>
internal sealed record MailCommand(SmtpAddress ReversePath, long? DeclaredSize, bool SmtpUtf8) : SmtpCommand(SmtpVerb.Mail);

internal sealed record RcptCommand(SmtpAddress ForwardPath) : SmtpCommand(SmtpVerb.Rcpt);

internal sealed record VrfyCommand(string Argument) : SmtpCommand(SmtpVerb.Vrfy);

/// <summary>A known verb whose arguments do not parse: the state table still decides first, then <see cref="Error"/> answers.</summary>
internal sealed record MalformedCommand(SmtpVerb Verb, SmtpReply Error) : SmtpCommand(Verb);

/// <summary>A line whose verb the engine does not know.</summary>
internal sealed record UnknownCommand() : SmtpCommand(SmtpVerb.Unknown);

/// <summary>A line longer than <see cref="SmtpOptions.MaxLineLength"/>; it was skipped up to its end.</summary>
internal sealed record OverlongLine() : SmtpCommand(SmtpVerb.Unknown);

/// <summary>A mailbox as it appeared in a path, and whether it needs SMTPUTF8 (RFC 6531).</summary>
internal readonly record struct SmtpAddress(string Value, bool IsInternational)
{
    public static readonly SmtpAddress Null = new("", false);
}
