namespace Mailtest.Smtp.Protocol;

/// <summary>Where a session stands in RFC 5321's command sequence (§4.1.4).</summary>
[Flags]
internal enum SmtpState
{
    /// <summary>Greeted by the server; no EHLO/HELO yet (also right after STARTTLS).</summary>
    Connected = 1,
    /// <summary>After EHLO/HELO, outside a mail transaction.</summary>
    Identified = 2,
    /// <summary>After MAIL, before any accepted RCPT.</summary>
    MailGiven = 4,
    /// <summary>After at least one accepted RCPT.</summary>
    RecipientGiven = 8,
    Any = Connected | Identified | MailGiven | RecipientGiven,
}

/// <summary>A precondition checked after the state: its own reply when it fails.</summary>
internal enum SmtpGuard
{
    None,
    /// <summary>MAIL needs a successful AUTH (530).</summary>
    Authenticated,
    /// <summary>AUTH needs TLS (unless allowed without) and no earlier AUTH.</summary>
    MayAuthenticate,
    /// <summary>STARTTLS needs a plaintext connection.</summary>
    NotSecure,
}

/// <summary>What a successful command does to the state.</summary>
internal enum SmtpTransition
{
    Stay,
    ToConnected,
    ToIdentified,
    ToMailGiven,
    ToRecipientGiven,
    /// <summary>Ends any mail transaction, keeps the EHLO (RSET).</summary>
    EndTransaction,
}

/// <summary>What a command's handler tells the session.</summary>
internal enum CommandResult
{
    /// <summary>The command did its work: the rule's transition applies.</summary>
    Succeeded,
    /// <summary>The command was refused: the state stays.</summary>
    Refused,
    /// <summary>The session ends (QUIT, a 421, a failed handshake).</summary>
    Close,
}

/// <summary>The handlers the state table points at; the session implements them.</summary>
internal interface ISmtpCommandHandlers
{
    ValueTask<CommandResult> HelloAsync(HeloCommand command);
    ValueTask<CommandResult> StartTlsAsync();
    ValueTask<CommandResult> AuthAsync(AuthCommand command);
    ValueTask<CommandResult> MailAsync(MailCommand command);
    ValueTask<CommandResult> RcptAsync(RcptCommand command);
    ValueTask<CommandResult> DataAsync();
    ValueTask<CommandResult> ResetAsync();
    ValueTask<CommandResult> NoopAsync();
    ValueTask<CommandResult> VerifyAsync(VrfyCommand command);
    ValueTask<CommandResult> QuitAsync();
}

internal sealed record SmtpStateRule(
    SmtpVerb Verb,
    SmtpState AcceptedIn,
    SmtpGuard Guard,
    Func<ISmtpCommandHandlers, SmtpCommand, ValueTask<CommandResult>> Handler,
    SmtpTransition OnSuccess);

/// <summary>
/// The protocol on one screen: which command each state accepts, its guard, its handler and the state
/// after it succeeds. The session runs a handler only when its rule allows it; the 503 text comes from here.
/// </summary>
internal static class SmtpStateTable
{
    private const SmtpState Transaction = SmtpState.MailGiven | SmtpState.RecipientGiven;

    public static readonly IReadOnlyList<SmtpStateRule> Rules =
    [
        //  command            accepted in               guard                       handler                                             on success
        new(SmtpVerb.Ehlo,     SmtpState.Any,            SmtpGuard.None,             (h, c) => h.HelloAsync((HeloCommand)c),             SmtpTransition.ToIdentified),
        new(SmtpVerb.Helo,     SmtpState.Any,            SmtpGuard.None,             (h, c) => h.HelloAsync((HeloCommand)c),             SmtpTransition.ToIdentified),
        new(SmtpVerb.StartTls, SmtpState.Identified,     SmtpGuard.NotSecure,        (h, _) => h.StartTlsAsync(),                        SmtpTransition.ToConnected),
        new(SmtpVerb.Auth,     SmtpState.Identified,     SmtpGuard.MayAuthenticate,  (h, c) => h.AuthAsync((AuthCommand)c),              SmtpTransition.Stay),
        new(SmtpVerb.Mail,     SmtpState.Identified,     SmtpGuard.Authenticated,    (h, c) => h.MailAsync((MailCommand)c),              SmtpTransition.ToMailGiven),
        new(SmtpVerb.Rcpt,     Transaction,              SmtpGuard.None,             (h, c) => h.RcptAsync((RcptCommand)c),              SmtpTransition.ToRecipientGiven),
        new(SmtpVerb.Data,     SmtpState.RecipientGiven, SmtpGuard.None,             (h, _) => h.DataAsync(),                            SmtpTransition.ToIdentified),
        new(SmtpVerb.Rset,     SmtpState.Any,            SmtpGuard.None,             (h, _) => h.ResetAsync(),                           SmtpTransition.EndTransaction),
        new(SmtpVerb.Noop,     SmtpState.Any,            SmtpGuard.None,             (h, _) => h.NoopAsync(),                            SmtpTransition.Stay),
        new(SmtpVerb.Vrfy,     SmtpState.Any,            SmtpGuard.None,             (h, c) => h.VerifyAsync((VrfyCommand)c),            SmtpTransition.Stay),
        new(SmtpVerb.Quit,     SmtpState.Any,            SmtpGuard.None,             (h, _) => h.QuitAsync(),                            SmtpTransition.Stay),
    ];

    private static readonly Dictionary<SmtpVerb, SmtpStateRule> ByVerb = Rules.ToDictionary(r => r.Verb);

    public static SmtpStateRule? Find(SmtpVerb verb) => ByVerb.GetValueOrDefault(verb);

    public static bool Accepts(this SmtpStateRule rule, SmtpState state) => (rule.AcceptedIn & state) != 0;

    /// <summary>The 503 reply for a command in a state that does not accept it.</summary>
    public static SmtpReply BadSequence(SmtpStateRule rule) =>
        SmtpReplies.BadSequence($"{rule.Verb.ToString().ToUpperInvariant()} is accepted only {Describe(rule.AcceptedIn)}");

    public static SmtpState Apply(SmtpTransition transition, SmtpState current) => transition switch
    {
        SmtpTransition.Stay => current,
        SmtpTransition.ToConnected => SmtpState.Connected,
        SmtpTransition.ToIdentified => SmtpState.Identified,
        SmtpTransition.ToMailGiven => SmtpState.MailGiven,
        SmtpTransition.ToRecipientGiven => SmtpState.RecipientGiven,
        SmtpTransition.EndTransaction => current == SmtpState.Connected ? SmtpState.Connected : SmtpState.Identified,
        _ => throw new ArgumentOutOfRangeException(nameof(transition)),
    };

    private static string Describe(SmtpState states) => states switch
    {
        SmtpState.Identified => "after EHLO/HELO, outside a mail transaction",
        Transaction => "after MAIL",
        SmtpState.RecipientGiven => "after a successful RCPT",
        _ => string.Join(" or ", Enum.GetValues<SmtpState>().Where(s => s != SmtpState.Any && states.HasFlag(s))),
    };
}
