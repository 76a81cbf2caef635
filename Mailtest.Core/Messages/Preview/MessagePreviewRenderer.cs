using MimeKit;

namespace Mailtest.Core.Messages.Preview;

public sealed record HeaderLine(string Name, string Value);

public sealed record PreviewAttachment(string PartPath, string FileName, string ContentType, long Size, string? ContentId, bool IsInline);

/// <param name="DerivedFromHtml">The mail has no text part: this is its HTML stripped to text.</param>
public sealed record PlainTextView(string Text, bool DerivedFromHtml);

/// <param name="Document">The sanitized HTML document for the sandboxed frame.</param>
/// <param name="RemoteResources">Remote images the mail asked for (proxied, or left out when blocked).</param>
public sealed record RenderedHtml(string Document, int RemoteResources);

/// <summary>
/// Turns a captured message into what the preview tabs show. HTML goes through the one mail sanitizer
/// configuration, with <c>cid:</c> pointing at the message's own parts and remote images at the signed
/// proxy (or nowhere when blocked); the rest (text, headers, attachments) is read from the MIME tree.
/// </summary>
public sealed class MessagePreviewRenderer(PreviewLinkSigner signer)
{
    public static MimeMessage Parse(Stream raw) => MimeMessage.Load(raw);

    /// <summary>The sanitized HTML document, or null when the message has no HTML part.</summary>
    public RenderedHtml? RenderHtml(MimeMessage message, InboxLinks links, bool blockRemoteImages)
    {
        var html = message.HtmlBody;
        if (html is null) return null;
        var rewriter = new MailUrlRewriter(
            contentId => MessageParts.ByContentId(message, contentId) is null ? null : links.ContentIdPart(contentId),
            blockRemoteImages ? null : signer.ImageProxyUrl);
        var sanitized = MailHtmlSanitizer.Create(rewriter).SanitizeDocument(html);
        return new RenderedHtml("<!DOCTYPE html>\n" + sanitized, rewriter.RemoteResourceCount);
    }

    public static PlainTextView? PlainText(MimeMessage message)
    {
        if (message.TextBody is { } text) return new PlainTextView(text, DerivedFromHtml: false);
        return message.HtmlBody is { } html ? new PlainTextView(HtmlToText.Convert(html), DerivedFromHtml: true) : null;
    }

    /// <summary>Every header, in the order the message carries them, values unfolded.</summary>
    public static IReadOnlyList<HeaderLine> Headers(MimeMessage message) =>
        [.. message.Headers.Select(h => new HeaderLine(h.Field, Unfold(h.Value)))];

    public static IReadOnlyList<PreviewAttachment> Attachments(MimeMessage message) =>
        [.. MessageParts.Attachments(message).Select(p => new PreviewAttachment(
            p.Path, SafeFileName(p.FileName, $"part-{p.Path}{DefaultExtension(p.ContentType)}"), p.ContentType,
            MessageParts.DecodedSize(p), p.ContentId, !p.Entity.IsAttachment && p.ContentId is not null))];

    /// <summary>A file name safe to offer for download: no directories, no control or reserved characters.</summary>
    public static string SafeFileName(string? name, string fallback)
    {
        var candidate = Path.GetFileName((name ?? "").Replace('\\', '/'));
        var cleaned = new string([.. candidate.Select(c => char.IsControl(c) || "<>:\"/\\|?*".Contains(c) ? '_' : c)]).Trim().Trim('.');
        if (cleaned.Length > 150) cleaned = cleaned[..100] + cleaned[^50..];
        return cleaned.Length == 0 ? fallback : cleaned;
    }

    private static string DefaultExtension(string contentType) => contentType switch
    {
        "message/rfc822" => ".eml",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "application/pdf" => ".pdf",
        "text/calendar" => ".ics",
        _ => ".bin",
    };

    private static string Unfold(string value) => value.Replace("\r\n", "").Replace("\n", "").Trim();
}
