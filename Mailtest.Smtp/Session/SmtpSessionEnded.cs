namespace Mailtest.Smtp.Session;

/// <summary>Ends a session from deep inside a read: a timeout, shutdown, or the peer leaving (no reply then).</summary>
internal sealed class SmtpSessionEnded(SmtpReply? finalReply) : Exception("The SMTP session ended.")
{
    public SmtpReply? FinalReply { get; } = finalReply;
}
