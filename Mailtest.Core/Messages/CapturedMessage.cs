namespace Mailtest.Core.Messages;

/// <summary>
/// The summary row that lists and searches read. The raw message lives apart in
/// <see cref="MessageContent"/> so that no list ever loads it.
/// </summary>
public sealed class CapturedMessage
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid OrganizationId { get; set; }
    public Guid EnvironmentId { get; set; }
    public DateTime ReceivedUtc { get; set; }
    public required string EnvelopeFrom { get; set; }
    /// <summary>Envelope recipients, comma-separated: Bcc recipients show here.</summary>
    public required string EnvelopeTo { get; set; }
    public string? From { get; set; }
    public string? To { get; set; }
    public string? Cc { get; set; }
    public string? ReplyTo { get; set; }
    public string? Subject { get; set; }
    public string? MessageIdHeader { get; set; }
    /// <summary>Size of the original message in bytes.</summary>
    public long Size { get; set; }
    public int AttachmentCount { get; set; }
    public bool IsRead { get; set; }
    /// <summary>Mailpit's tags, comma-separated as <see cref="MessageTags"/> stores them; null for none.</summary>
    public string? Tags { get; set; }
    public List<MessageAttachment> Attachments { get; set; } = [];
}

/// <summary>The original <c>.eml</c>, compressed and then encrypted (AES-256-GCM).</summary>
public sealed class MessageContent
{
    public Guid MessageId { get; set; }
    public required byte[] Sealed { get; set; }
}

/// <summary>One attachment or inline part, served from the raw message by its MIME part path.</summary>
public sealed class MessageAttachment
{
    public long Id { get; set; }
    public Guid MessageId { get; set; }
    public required string PartPath { get; set; }
    public string? FileName { get; set; }
    public required string ContentType { get; set; }
    public string? ContentId { get; set; }
    public bool IsInline { get; set; }
    public long Size { get; set; }
}
