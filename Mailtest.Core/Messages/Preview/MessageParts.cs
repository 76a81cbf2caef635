using MimeKit;

namespace Mailtest.Core.Messages.Preview;

/// <summary>One leaf part of a message, named by its IMAP-style path ("1", "2.1", ...).</summary>
public sealed record MailPart(string Path, MimeEntity Entity)
{
    public string ContentType => Entity.ContentType.MimeType.ToLowerInvariant();
    public string? FileName => Entity is MimePart part ? part.FileName : Entity.ContentType.Name;
    public string? ContentId => Entity.ContentId;
    public bool IsAttachment => Entity.IsAttachment || Entity is MimeKit.MessagePart;
}

/// <summary>
/// Walks a message's MIME tree. Paths follow IMAP body-part numbering: the children of a multipart
/// are numbered from 1; a single-part message has one part, "1". An attached message (message/rfc822)
/// is one part: it is downloaded whole, not opened.
/// </summary>
public static class MessageParts
{
    public static IReadOnlyList<MailPart> Leaves(MimeMessage message)
    {
        var parts = new List<MailPart>();
        if (message.Body is Multipart multipart) Walk(multipart, "", parts);
        else if (message.Body is not null) parts.Add(new MailPart("1", message.Body));
        return parts;
    }

    /// <summary>The attachments and inline parts (everything but the text and HTML bodies).</summary>
    public static IReadOnlyList<MailPart> Attachments(MimeMessage message)
    {
        var bodies = new HashSet<MimeEntity>(ReferenceEqualityComparer.Instance);
        if (message.HtmlBody is not null) bodies.Add(BodyPart(message, isHtml: true)!);
        if (message.TextBody is not null) bodies.Add(BodyPart(message, isHtml: false)!);
        return [.. Leaves(message).Where(p => !bodies.Contains(p.Entity) && (p.IsAttachment || p.ContentId is not null || !p.ContentType.StartsWith("text/", StringComparison.Ordinal)))];
    }

    public static MailPart? ByPath(MimeMessage message, string path) =>
        Leaves(message).FirstOrDefault(p => p.Path == path);

    /// <summary>The part a <c>cid:</c> URL names (RFC 2392: the Content-ID without its angle brackets).</summary>
    public static MailPart? ByContentId(MimeMessage message, string contentId)
    {
        var wanted = contentId.Trim().Trim('<', '>');
        return Leaves(message).FirstOrDefault(p => string.Equals(p.ContentId, wanted, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The decoded bytes of a part, written to <paramref name="output"/>.</summary>
    public static void WriteDecoded(MailPart part, Stream output)
    {
        switch (part.Entity)
        {
            case MimePart mime when mime.Content is not null: mime.Content.DecodeTo(output); break;
            case MimeKit.MessagePart attached when attached.Message is not null: attached.Message.WriteTo(output); break;
        }
    }

    /// <summary>The decoded size in bytes (decodes without keeping the bytes).</summary>
    public static long DecodedSize(MailPart part)
    {
        using var counter = new CountingStream();
        WriteDecoded(part, counter);
        return counter.Length;
    }

    private static MimeEntity? BodyPart(MimeMessage message, bool isHtml)
    {
        var subtype = isHtml ? "html" : "plain";
        // The same choice MimeKit makes for HtmlBody/TextBody: the first text part of that subtype that is not an attachment.
        return message.BodyParts.OfType<TextPart>().FirstOrDefault(p => !p.IsAttachment && p.ContentType.IsMimeType("text", subtype));
    }

    private static void Walk(Multipart multipart, string prefix, List<MailPart> parts)
    {
        for (var i = 0; i < multipart.Count; i++)
        {
            var path = prefix.Length == 0 ? $"{i + 1}" : $"{prefix}.{i + 1}";
            if (multipart[i] is Multipart child) Walk(child, path, parts);
            else parts.Add(new MailPart(path, multipart[i]));
        }
    }

    private sealed class CountingStream : Stream
    {
        private long _length;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Write(byte[] buffer, int offset, int count) => _length += count;
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
