namespace Mailtest.Web.Inbox;

/// <summary>The inbox and its image proxy. Bound from <c>Mailtest:Inbox</c>.</summary>
public sealed class InboxOptions
{
    public const string Section = "Mailtest:Inbox";

    /// <summary>Start every preview with remote images blocked (the reader can still allow them per message).</summary>
    public bool BlockRemoteImagesByDefault { get; set; }

    /// <summary>Turn the image proxy off entirely: remote images are never loaded and the toggle is hidden.</summary>
    public bool DisableImageProxy { get; set; }

    /// <summary>Largest remote image the proxy passes on.</summary>
    public long ImageProxyMaxBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>The whole fetch (connect, headers, body) must finish within this.</summary>
    public TimeSpan ImageProxyTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
