using Mailtest.Smtp;

namespace Mailtest.Core.Messages;

/// <summary>A message as the SMTP session hands it over: who, for whom, and the spooled .eml (in memory or a file).</summary>
public sealed record IngestRequest(Guid OrganizationId, Guid EnvironmentId, string EnvelopeFrom, IReadOnlyList<string> EnvelopeTo, SpooledMessage Message);

/// <summary>
/// The way in for captured mail: reads the spooled .eml (summary, attachment index, body text for
/// search), seals the raw bytes, and hands the result to the <see cref="IngestWriter"/>. Returns the
/// message id once the message is committed, never before.
/// </summary>
public sealed class MessageIngest(IngestWriter writer, RawMessageSeal seal, TimeProvider clock)
{
    public async Task<Guid> IngestAsync(IngestRequest request, CancellationToken cancellationToken = default)
    {
        var prepared = await PrepareAsync(request, cancellationToken);
        await writer.WriteAsync(prepared, cancellationToken);
        return prepared.Summary.Id;
    }

    private async Task<PreparedMessage> PrepareAsync(IngestRequest request, CancellationToken cancellationToken)
    {
        var size = request.Message.Length;
        var mime = await MimeSummary.ReadAsync(request.Message, cancellationToken);
        var id = Guid.CreateVersion7();
        var envelopeTo = string.Join(", ", request.EnvelopeTo);
        var summary = new CapturedMessage
        {
            Id = id,
            OrganizationId = request.OrganizationId,
            EnvironmentId = request.EnvironmentId,
            // Microseconds: what PostgreSQL keeps, so a page cursor read back compares exactly.
            ReceivedUtc = TruncateToMicroseconds(clock.GetUtcNow().UtcDateTime),
            EnvelopeFrom = Clean(request.EnvelopeFrom)!,
            EnvelopeTo = Clean(envelopeTo)!,
            From = Clean(mime.From), To = Clean(mime.To), Cc = Clean(mime.Cc), ReplyTo = Clean(mime.ReplyTo),
            Subject = Clean(mime.Subject), MessageIdHeader = Clean(mime.MessageId),
            Size = size,
            AttachmentCount = mime.Attachments.Count(a => !a.IsInline),
            Tags = MessageTags.Join([.. mime.Tags]),
            Attachments = [.. mime.Attachments.Select(a => new MessageAttachment
            {
                MessageId = id, PartPath = a.PartPath, FileName = Clean(a.FileName), ContentType = Clean(a.ContentType)!,
                ContentId = Clean(a.ContentId), IsInline = a.IsInline, Size = a.Size,
            })],
        };
        var content = await seal.SealAsync(request.Message, id, cancellationToken);
        var searchText = string.Join('\n', new[] { mime.Subject, mime.From, request.EnvelopeFrom, mime.To, mime.Cc, envelopeTo, mime.BodyText }
            .Where(s => !string.IsNullOrEmpty(s)));
        return new PreparedMessage(summary, content, Clean(searchText)!);
    }

    /// <summary>Hostile mail may carry NUL characters, which PostgreSQL text refuses.</summary>
    private static string? Clean(string? value) => value?.Contains('\0') == true ? value.Replace("\0", "") : value;

    private static DateTime TruncateToMicroseconds(DateTime value) => new(value.Ticks - value.Ticks % 10, DateTimeKind.Utc);
}
