using AngleSharp.Dom;

namespace Mailtest.Core.Messages.Preview;

/// <summary>
/// Decides, for each URL in a sanitized mail, what the preview may load. Links keep absolute http(s)
/// and mailto targets. Resources (images, backgrounds, CSS url()) load only from our own server:
/// <c>cid:</c> becomes the message's own part, remote http(s) becomes the signed image proxy (or
/// nothing at all when remote images are blocked), <c>data:</c> stays for raster images only.
/// Relative URLs are dropped: the mail has no base, and they would point at our own site.
/// </summary>
public sealed class MailUrlRewriter(Func<string, string?> contentIdUrl, Func<string, string>? remoteImageUrl)
{
    private static readonly string[] DataImageTypes = ["data:image/png", "data:image/gif", "data:image/jpeg", "data:image/jpg", "data:image/webp", "data:image/bmp"];

    /// <summary>Remote resources the mail asked for (counted whether or not they are blocked).</summary>
    public int RemoteResourceCount { get; private set; }

    public string? Rewrite(IElement element, string url)
    {
        var trimmed = url.Trim();
        if (IsLink(element, url))
            return IsAbsolute(trimmed, out var link) && link.Scheme is "http" or "https" or "mailto" ? link.AbsoluteUri : null;

        if (trimmed.StartsWith("cid:", StringComparison.OrdinalIgnoreCase))
            return contentIdUrl(Uri.UnescapeDataString(trimmed[4..]));
        if (trimmed.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
            return IsRasterDataUrl(trimmed) ? trimmed : null;
        if (IsAbsolute(trimmed, out var remote) && remote.Scheme is "http" or "https")
        {
            RemoteResourceCount++;
            return remoteImageUrl?.Invoke(remote.AbsoluteUri);
        }
        return null;
    }

    /// <summary>A <c>data:</c> URL of a raster image: the only kind a preview shows (never SVG, which can carry script).</summary>
    public static bool IsRasterDataUrl(string url) =>
        DataImageTypes.Any(t => url.StartsWith(t + ";", StringComparison.OrdinalIgnoreCase) || url.StartsWith(t + ",", StringComparison.OrdinalIgnoreCase));

    // The URL is the element's link target (not an image or a CSS url() in its style attribute).
    private static bool IsLink(IElement element, string url) =>
        element.LocalName is "a" or "area" && element.GetAttribute("href") == url;

    private static bool IsAbsolute(string url, out Uri uri) =>
        Uri.TryCreate(url, UriKind.Absolute, out uri!) && !uri.IsFile && !url.StartsWith("//", StringComparison.Ordinal);
}
