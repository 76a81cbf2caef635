namespace Mailtest.Core.Messages.Preview;

public sealed record HeaderLine(string Name, string Value);

public sealed record PreviewAttachment(string PartPath, string FileName, string ContentType, long Size, string? ContentId, bool IsInline);

/// <param name="DerivedFromHtml">The mail has no text part: this is its HTML stripped to text.</param>
public sealed record PlainTextView(string Text, bool DerivedFromHtml);

/// <param name="Document">The sanitized HTML document for the sandboxed frame.</param>
/// <param name="RemoteResources">Remote images the mail asked for (proxied, or left out when blocked).</param>
public sealed record RenderedHtml(string Document, int RemoteResources);

/// <summary>
/// Sanitizes a message's HTML for the sandboxed frame through the one mail sanitizer configuration,
/// with <c>cid:</c> pointing at the message's own parts and remote images at the signed proxy (or
/// nowhere when blocked). <see cref="OpenedMessage"/> calls it; nothing else renders mail HTML.
/// </summary>
public sealed class MessagePreviewRenderer(PreviewLinkSigner signer)
{
    /// <param name="contentIdUrl">The URL of the part a <c>cid:</c> names, or null when the message has no such part.</param>
    public RenderedHtml RenderHtml(string html, Func<string, string?> contentIdUrl, bool blockRemoteImages)
    {
        var rewriter = new MailUrlRewriter(contentIdUrl, blockRemoteImages ? null : signer.ImageProxyUrl);
        var sanitized = MailHtmlSanitizer.Create(rewriter).SanitizeDocument(html);
        return new RenderedHtml("<!DOCTYPE html>\n" + sanitized, rewriter.RemoteResourceCount);
    }

    /// <summary>A file name safe to offer for download: no directories, no control or reserved characters.</summary>
    public static string SafeFileName(string? name, string fallback)
    {
        var candidate = Path.GetFileName((name ?? "").Replace('\\', '/'));
        var cleaned = new string([.. candidate.Select(c => char.IsControl(c) || "<>:\"/\\|?*".Contains(c) ? '_' : c)]).Trim().Trim('.');
        if (cleaned.Length > 150) cleaned = cleaned[..100] + cleaned[^50..];
        return cleaned.Length == 0 ? fallback : cleaned;
    }

    /// <summary>The extension a download gets when the part names no file.</summary>
    public static string DefaultExtension(string contentType) => contentType switch
    {
        "message/rfc822" => ".eml",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "application/pdf" => ".pdf",
        "text/calendar" => ".ics",
        _ => ".bin",
    };

}
