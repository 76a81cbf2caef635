using System.Text;
using System.Text.RegularExpressions;
using MimeKit;

namespace Mailtest.Core.Messages.Preview;

/// <summary>The decoded bytes of one part, as a download or an inline image serves them.</summary>
/// <param name="FileName">Safe to offer for download (see <see cref="MessagePreviewRenderer.SafeFileName"/>).</param>
public sealed record PartContent(string FileName, string ContentType, byte[] Content);

/// <summary>
/// One message as every preview shows it (the inbox panel, its frame and downloads, the API): the
/// summary row read for this request, and what one parse of the raw message answers. Get it from
/// <see cref="MessagePreviews"/>; no MimeKit type leaves it.
/// </summary>
public sealed partial class OpenedMessage
{
    /// <summary>The Raw tab shows this much; the download has the rest.</summary>
    public const int RawDisplayLimit = 1024 * 1024;

    private readonly ParsedMessage _parsed;
    private readonly MessagePreviewRenderer _renderer;

    internal OpenedMessage(CapturedMessage summary, ParsedMessage parsed, MessagePreviewRenderer renderer)
    {
        Summary = summary;
        _parsed = parsed;
        _renderer = renderer;
        // The attachment index written at ingest by the same walk the downloads use.
        Attachments = [.. summary.Attachments.OrderBy(a => a.Id).Select(a => new PreviewAttachment(
            a.PartPath, MessagePreviewRenderer.SafeFileName(a.FileName, $"part-{a.PartPath}{MessagePreviewRenderer.DefaultExtension(a.ContentType)}"),
            a.ContentType, a.Size, a.ContentId, a.IsInline))];
    }

    /// <summary>The summary row as this request read it (read flag included); each request gets its own.</summary>
    public CapturedMessage Summary { get; }

    public bool HasHtml => _parsed.Html is not null;

    /// <summary>The HTML part exactly as sent: hostile, for test code to read, never to render.</summary>
    public string? HtmlAsSent => _parsed.Html;

    /// <summary>The text part as sent; null when the message has none.</summary>
    public string? TextAsSent => Plain is { DerivedFromHtml: false } plain ? plain.Text : null;

    /// <summary>The text part, or the HTML turned into text when there is none; null when the message has neither.</summary>
    public PlainTextView? Plain => _parsed.Plain;

    /// <summary>Every header, in the order the message carries them, values unfolded.</summary>
    public IReadOnlyList<HeaderLine> Headers => _parsed.Headers;

    /// <summary>Attachments and inline parts, in message order.</summary>
    public IReadOnlyList<PreviewAttachment> Attachments { get; }

    /// <summary>The start of the original .eml as text (at most <see cref="RawDisplayLimit"/> bytes).</summary>
    public string RawText => _parsed.RawText;

    public bool RawTruncated => _parsed.RawLength > RawDisplayLimit;

    /// <summary>The original .eml, whole (the cached copy: no second decrypt).</summary>
    public Stream OpenRaw() => _parsed.OpenRaw();

    /// <summary>The sanitized HTML document for a sandboxed frame, or null when the message has no HTML part.</summary>
    /// <param name="partUrl">Where the frame loads an inline part from (a <c>cid:</c> image).</param>
    public RenderedHtml? RenderHtml(Func<PreviewAttachment, string?> partUrl, bool blockRemoteImages) =>
        _parsed.Html is { } html
            ? _renderer.RenderHtml(html, contentId => InlinePart(contentId) is { } part ? partUrl(part) : null, blockRemoteImages)
            : null;

    /// <summary>The inbox's frame: <c>cid:</c> images through the inbox's own signed links.</summary>
    public RenderedHtml? RenderHtml(InboxLinks links, bool blockRemoteImages) =>
        RenderHtml(part => links.ContentIdPart(part.ContentId!), blockRemoteImages);

    /// <summary>
    /// The same document for a reader outside the inbox (the API's <c>/html</c>, read with a token and no
    /// inbox session): each <c>cid:</c> raster image travels inside the document as a <c>data:</c> URL
    /// (the sanitizer keeps those for raster types only), up to <see cref="EmbeddedImageLimit"/> each.
    /// </summary>
    public RenderedHtml? RenderHtmlWithEmbeddedImages(bool blockRemoteImages) =>
        RenderHtml(part => part.ContentId is { } contentId ? EmbeddedImageUrl(contentId) : null, blockRemoteImages);

    /// <summary>
    /// The HTML part as sent, untouched but for each <c>cid:</c> image it names, which travels inside it as in
    /// <see cref="RenderHtmlWithEmbeddedImages"/>: Mailpit's <c>/view/{ID}.html</c> shows the mail as sent, inline
    /// images included (Mailpit links them to its part URLs; a <c>data:</c> URL needs no second authenticated request).
    /// Hostile: only for a script-free sandbox. A <c>cid:</c> naming no raster image of the message stays as it is.
    /// </summary>
    public string? HtmlAsSentWithEmbeddedImages =>
        _parsed.Html is { } html ? ContentIdReference().Replace(html, cid => EmbeddedImageUrl(Uri.UnescapeDataString(cid.Groups["id"].Value)) ?? cid.Value) : null;

    /// <summary>A larger inline image is left out of a self-contained document.</summary>
    public const int EmbeddedImageLimit = 5 * 1024 * 1024;

    /// <summary>The <c>data:</c> URL of the raster image a <c>cid:</c> names, up to <see cref="EmbeddedImageLimit"/>; null otherwise.</summary>
    private string? EmbeddedImageUrl(string contentId) =>
        InlineImage(contentId) is { Content.Length: <= EmbeddedImageLimit } image
        && $"data:{image.ContentType};base64,{Convert.ToBase64String(image.Content)}" is var url && MailUrlRewriter.IsRasterDataUrl(url)
            ? url
            : null;

    /// <summary>A <c>cid:</c> URL where HTML names a resource: an attribute's value (quoted or not) or a CSS <c>url(...)</c>.</summary>
    [GeneratedRegex(@"(?<=(=\s*[""']?|url\(\s*[""']?))cid:(?<id>[^""'\s>)]+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ContentIdReference();

    /// <summary>The part at this path, decoded; null when there is none.</summary>
    public PartContent? Part(string partPath) =>
        _parsed.ByPath(partPath) is { } part ? _parsed.Decode(part, MessagePreviewRenderer.SafeFileName(part.FileName, $"part-{part.Path}{MessagePreviewRenderer.DefaultExtension(part.ContentType)}")) : null;

    /// <summary>The image a <c>cid:</c> URL names (RFC 2392: the Content-ID without its angle brackets); only images are served inline.</summary>
    public PartContent? InlineImage(string contentId) =>
        _parsed.ByContentId(contentId) is { } part && part.ContentType.StartsWith("image/", StringComparison.Ordinal)
            ? _parsed.Decode(part, MessagePreviewRenderer.SafeFileName(part.FileName, $"part-{part.Path}{MessagePreviewRenderer.DefaultExtension(part.ContentType)}"))
            : null;

    private PreviewAttachment? InlinePart(string contentId) =>
        _parsed.ByContentId(contentId) is { } part
            ? Attachments.FirstOrDefault(a => a.PartPath == part.Path) ?? new PreviewAttachment(part.Path, part.FileName ?? "", part.ContentType, 0, part.ContentId, part.IsInline)
            : null;
}

/// <summary>
/// One parse of one raw message, shared by the requests that preview it for a few seconds (see
/// <see cref="MessagePreviews"/>). Everything text is read once here; part contents are decoded on
/// demand, one at a time, since the parts read from the one buffer.
/// </summary>
internal sealed class ParsedMessage
{
    private readonly byte[] _raw;
    private readonly IReadOnlyList<MailPart> _leaves;
    private readonly Lock _decoding = new();

    private ParsedMessage(byte[] raw, int rawLength, MimeMessage message)
    {
        _raw = raw;
        RawLength = rawLength;
        _leaves = MessageParts.Leaves(message);
        Html = MessageParts.Body(message, isHtml: true) is { } html ? MessageParts.Text(html) : null;
        var text = MessageParts.Body(message, isHtml: false) is { } plain ? MessageParts.Text(plain) : null;
        Plain = text is not null ? new PlainTextView(text, DerivedFromHtml: false)
            : Html is not null ? new PlainTextView(HtmlToText.Convert(Html), DerivedFromHtml: true)
            : null;
        Headers = [.. message.Headers.Select(h => new HeaderLine(h.Field, h.Value.Replace("\r\n", "").Replace("\n", "").Trim()))];
        RawText = Encoding.UTF8.GetString(raw, 0, Math.Min(rawLength, OpenedMessage.RawDisplayLimit));
    }

    public int RawLength { get; }
    public string? Html { get; }
    public PlainTextView? Plain { get; }
    public IReadOnlyList<HeaderLine> Headers { get; }
    public string RawText { get; }

    /// <summary>Reads the whole raw message once and parses it in place (parts point into the buffer, no copies).</summary>
    public static async Task<ParsedMessage> ReadAsync(Stream raw, long expectedLength, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(capacity: (int)Math.Clamp(expectedLength, 0, Array.MaxLength));
        await raw.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.GetBuffer();
        var length = (int)buffer.Length;
        var message = await MimeMessage.LoadAsync(ParserOptions.Default, new MemoryStream(bytes, 0, length, writable: false), persistent: true, cancellationToken);
        return new ParsedMessage(bytes, length, message);
    }

    public Stream OpenRaw() => new MemoryStream(_raw, 0, RawLength, writable: false);

    public MailPart? ByPath(string path) => _leaves.FirstOrDefault(p => p.Path == path);

    public MailPart? ByContentId(string contentId)
    {
        var wanted = contentId.Trim().Trim('<', '>');
        return _leaves.FirstOrDefault(p => string.Equals(p.ContentId, wanted, StringComparison.OrdinalIgnoreCase));
    }

    public PartContent Decode(MailPart part, string fileName)
    {
        using var output = new MemoryStream();
        // Every part reads from the one buffer through a shared stream: one decode at a time.
        lock (_decoding) MessageParts.WriteDecoded(part, output);
        return new PartContent(fileName, part.ContentType, output.ToArray());
    }
}
