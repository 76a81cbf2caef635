using AngleSharp.Html.Parser;
using MimeKit;
using MimeKit.IO;

namespace Mailtest.Core.Messages;

/// <summary>An attachment or inline part found in a message, before it is stored.</summary>
public sealed record AttachmentInfo(string PartPath, string? FileName, string ContentType, string? ContentId, bool IsInline, long Size);

/// <summary>
/// What lists, searches and the attachment index need from a raw message, read with MimeKit
/// straight from the spooled file (attachments are measured as streams, never loaded as strings).
/// MimeKit is lenient; a message it cannot read at all still gets a summary with empty fields.
/// </summary>
public sealed record MimeSummary(
    string? From, string? To, string? Cc, string? ReplyTo, string? Subject, string? MessageId,
    IReadOnlyList<AttachmentInfo> Attachments, string BodyText)
{
    /// <summary>Body text beyond this is not searched (a log dump in a mail does not need to be).</summary>
    public const int MaxBodyTextChars = 200_000;

    public static readonly MimeSummary Unreadable = new(null, null, null, null, null, null, [], "");

    public static async Task<MimeSummary> ReadAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        try
        {
            // persistent: part contents stay references into the file instead of copies in memory.
            var message = await MimeMessage.LoadAsync(ParserOptions.Default, stream, persistent: true, cancellationToken);
            return FromMessage(message, cancellationToken);
        }
        catch (Exception unreadable) when (unreadable is not OperationCanceledException)
        {
            // Whatever MimeKit cannot make sense of is still stored: raw bytes, envelope, size.
            return Unreadable;
        }
    }

    private static MimeSummary FromMessage(MimeMessage message, CancellationToken cancellationToken)
    {
        return new MimeSummary(
            Addresses(message.From), Addresses(message.To), Addresses(message.Cc), Addresses(message.ReplyTo),
            message.Subject, message.MessageId,
            FindAttachments(message, cancellationToken),
            Truncate(ReadableBody(message)));
    }

    private static string? Addresses(InternetAddressList list) => list.Count == 0 ? null : list.ToString();

    private static List<AttachmentInfo> FindAttachments(MimeMessage message, CancellationToken cancellationToken)
    {
        var found = new List<AttachmentInfo>();
        using var iterator = new MimeIterator(message);
        while (iterator.MoveNext())
        {
            if (iterator.Current is not MimePart part) continue;
            var isBodyText = part is TextPart && !part.IsAttachment && part.FileName is null;
            if (isBodyText || (!part.IsAttachment && part.ContentId is null && part.FileName is null)) continue;
            found.Add(new AttachmentInfo(
                iterator.PathSpecifier, part.FileName, part.ContentType.MimeType, part.ContentId,
                IsInline: !part.IsAttachment, DecodedSize(part, cancellationToken)));
        }
        return found;
    }

    private static long DecodedSize(MimePart part, CancellationToken cancellationToken)
    {
        if (part.Content is null) return 0;
        using var measure = new MeasuringStream();
        try { part.Content.DecodeTo(measure, cancellationToken); }
        catch (FormatException) { }
        return measure.Length;
    }

    private static string ReadableBody(MimeMessage message)
    {
        var text = message.TextBody;
        if (!string.IsNullOrWhiteSpace(text)) return text;
        var html = message.HtmlBody;
        if (string.IsNullOrWhiteSpace(html)) return "";
        var document = new HtmlParser().ParseDocument(html);
        foreach (var element in document.QuerySelectorAll("script, style")) element.Remove();
        return document.Body?.TextContent ?? "";
    }

    private static string Truncate(string text) => text.Length <= MaxBodyTextChars ? text : text[..MaxBodyTextChars];
}
