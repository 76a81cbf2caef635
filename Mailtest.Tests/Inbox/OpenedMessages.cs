using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Preview;
using MimeKit;

namespace Mailtest.Tests.Inbox;

/// <summary>
/// What <see cref="MessagePreviews"/> hands out for a mail, without a database: the summary with the
/// attachment index ingest writes (the same MIME walk), and one parse of the raw bytes.
/// </summary>
internal static class OpenedMessages
{
    public static OpenedMessage Open(MimeMessage mime, PreviewLinkSigner signer, Guid? messageId = null, Guid? environmentId = null,
        string envelopeTo = "anna@example.com,hidden@example.com")
    {
        using var buffer = new MemoryStream();
        mime.WriteTo(buffer);
        buffer.Position = 0;
        var reread = MimeMessage.Load(buffer);
        var indexed = MimeSummary.FromMessage(reread, CancellationToken.None);
        var summary = new CapturedMessage
        {
            Id = messageId ?? Guid.CreateVersion7(), EnvironmentId = environmentId ?? Guid.NewGuid(), ReceivedUtc = DateTime.UtcNow,
            EnvelopeFrom = "bounce@shop.example", EnvelopeTo = envelopeTo, From = mime.From.ToString(), To = mime.To.ToString(),
            Subject = mime.Subject, Size = buffer.Length, AttachmentCount = indexed.Attachments.Count(a => !a.IsInline),
            Attachments = [.. indexed.Attachments.Select(a => new MessageAttachment
            {
                PartPath = a.PartPath, FileName = a.FileName, ContentType = a.ContentType, ContentId = a.ContentId, IsInline = a.IsInline, Size = a.Size,
            })],
        };
        buffer.Position = 0;
        var parsed = ParsedMessage.ReadAsync(buffer, buffer.Length, CancellationToken.None).GetAwaiter().GetResult();
        return new OpenedMessage(summary, parsed, new MessagePreviewRenderer(signer));
    }
}
