using System.Net;

namespace Mailtest.Smtp;

// The engine asks the product these questions; Mailtest.Core answers them. The engine knows
// nothing of organizations, plans or Odoo: only logins, size limits and where a message goes.

/// <summary>An SMTP reply: a code, an enhanced status code (RFC 3463) and a text.</summary>
public readonly record struct SmtpReply(int Code, string EnhancedStatus, string Text)
{
    public override string ToString() => $"{Code} {EnhancedStatus} {Text}";
    public bool IsPositive => Code is >= 200 and < 400;
}

/// <summary>
/// The replies a backend returns that the engine also sends itself. Defined once, here, so the
/// product answers exactly as the engine does (Core uses these instead of its own copies).
/// </summary>
public static class SmtpStandardReplies
{
    public static readonly SmtpReply ShuttingDown = new(421, "4.3.2", "Service shutting down");
    public static readonly SmtpReply AuthenticationFailed = new(535, "5.7.8", "Authentication failed");
    public static readonly SmtpReply MessageTooBig = new(552, "5.3.4", "Message exceeds fixed maximum message size");
    public static readonly SmtpReply InsufficientStorage = new(452, "4.3.1", "Insufficient system storage");
    public static readonly SmtpReply StorageFailed = new(451, "4.3.0", "Could not store the message, try again later");

    /// <summary>The positive reply to DATA once the message is durable.</summary>
    public static SmtpReply Queued(string id) => new(250, "2.0.0", $"Ok: queued as {id}");
}

/// <summary>What the engine knows of the peer when it asks.</summary>
public sealed record SmtpPeer(IPEndPoint RemoteEndPoint, string? HeloName, bool IsSecure);

/// <summary>The outcome of AUTH. On success, <see cref="Mailbox"/> identifies who may send, and
/// <see cref="MaxMessageBytes"/> is that sender's per-message limit.</summary>
public sealed record SmtpLoginResult(bool Succeeded, SmtpReply? Refusal, SmtpMailbox? Mailbox, long MaxMessageBytes)
{
    public static SmtpLoginResult Accepted(SmtpMailbox mailbox, long maxMessageBytes) => new(true, null, mailbox, maxMessageBytes);
    /// <summary>A refusal; a 535 counts toward the IP's failure ban, other codes (421 during rotation) do not.</summary>
    public static SmtpLoginResult Refused(SmtpReply reply) => new(false, reply, null, 0);
}

/// <summary>An opaque handle for the authenticated sender (Core puts its organization and environment ids here).</summary>
public sealed record SmtpMailbox(string Username, Guid OrganizationId, Guid EnvironmentId);

/// <summary>A finished DATA: the envelope and the spooled message (in memory or a file; released by the engine
/// once <see cref="ISmtpBackend.DeliverAsync"/> returns).</summary>
public sealed record SmtpTransaction(
    SmtpMailbox Mailbox,
    string EnvelopeFrom,
    IReadOnlyList<string> EnvelopeTo,
    SpooledMessage Message,
    SmtpPeer Peer)
{
    /// <summary>Bytes of the message after dot-unstuffing and CRLF normalisation (RFC 1870's measure).</summary>
    public long Size => Message.Length;
}

/// <summary>Answers the product's side of an SMTP session. Implemented by Mailtest.Core; one per connection scope.</summary>
public interface ISmtpBackend
{
    /// <summary>Called on connect, before the greeting: a refusal (e.g. the kill switch's
    /// <c>421 4.3.2 Service shutting down</c>) is sent and the connection closed.</summary>
    ValueTask<SmtpReply?> CheckConnectionAsync(SmtpPeer peer, CancellationToken cancellationToken);

    ValueTask<SmtpLoginResult> AuthenticateAsync(string username, string password, SmtpPeer peer, CancellationToken cancellationToken);

    /// <summary>Called at MAIL FROM with the declared SIZE (if any): a refusal such as
    /// <c>452 4.3.1</c> (quota) or <c>421</c> (kill switch, disabled meanwhile) ends the transaction.</summary>
    ValueTask<SmtpReply?> CheckSenderAsync(SmtpMailbox mailbox, long? declaredSize, CancellationToken cancellationToken);

    /// <summary>Called at each RCPT TO after the engine's own checks: a refusal is answered for that
    /// recipient only (Core uses it for per-environment fault injection). By default every recipient is accepted.</summary>
    ValueTask<SmtpReply?> CheckRecipientAsync(SmtpMailbox mailbox, string recipient, CancellationToken cancellationToken) => ValueTask.FromResult<SmtpReply?>(null);

    /// <summary>Stores the message durably, then returns the positive reply
    /// (<c>250 2.0.0 Ok: queued as &lt;id&gt;</c>). Must not return until the message is committed.</summary>
    ValueTask<SmtpReply> DeliverAsync(SmtpTransaction transaction, CancellationToken cancellationToken);
}
