using System.Net;
using Microsoft.Extensions.Options;

namespace Mailtest.Web.Inbox;

public sealed record FetchedImage(byte[] Content, string ContentType);

/// <summary>
/// Why the proxy did not pass an image on (the reader sees a broken image; the answer and the log say
/// why). <see cref="Status"/>: 400 when the address itself is not one the proxy follows, else 502
/// (the remote server or what it sent is the problem).
/// </summary>
public sealed class ImageRefusedException(string reason, int status = StatusCodes.Status502BadGateway) : Exception(reason)
{
    public int Status { get; } = status;
}

/// <summary>
/// Fetches a remote image for the proxy. Every connection (redirects included) resolves the host
/// itself, refuses it unless every address it will use is public (<see cref="RemoteAddressPolicy"/>),
/// and connects to the vetted address — a second DNS answer cannot swap in a private one. Only
/// ports 80 and 443, only raster image types, at most <see cref="InboxOptions.ImageProxyMaxBytes"/>,
/// within <see cref="InboxOptions.ImageProxyTimeout"/>. No cookies, no referrer, no client headers.
/// </summary>
public sealed class RemoteImageFetcher : IDisposable
{
    private static readonly HashSet<string> ImageTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "image/x-icon", "image/vnd.microsoft.icon",
    };

    private readonly HttpClient _client;
    private readonly InboxOptions _options;
    private readonly Func<IPEndPoint, bool> _isAllowed;

    public RemoteImageFetcher(IOptions<InboxOptions> options) : this(options.Value, IsPublicWebEndpoint) { }

    /// <param name="isAllowed">The endpoint check; tests substitute one that admits their loopback server.</param>
    internal RemoteImageFetcher(InboxOptions options, Func<IPEndPoint, bool> isAllowed)
    {
        _options = options;
        _isAllowed = isAllowed;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = ConnectToVettedAddressAsync,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 3,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        };
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan, MaxResponseContentBufferSize = options.ImageProxyMaxBytes };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd("Mailtest-ImageProxy/1.0");
        _client.DefaultRequestHeaders.Accept.ParseAdd("image/*");
    }

    public async Task<FetchedImage> FetchAsync(Uri url, CancellationToken cancellationToken)
    {
        if (url.Scheme is not ("http" or "https"))
            throw new ImageRefusedException("The image proxy only follows http and https addresses.", StatusCodes.Status400BadRequest);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ImageProxyTimeout);
        try
        {
            using var response = await _client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.StatusCode != HttpStatusCode.OK)
                throw new ImageRefusedException($"The server answered {(int)response.StatusCode}.");
            var contentType = response.Content.Headers.ContentType?.MediaType;
            if (contentType is null || !ImageTypes.Contains(contentType))
                throw new ImageRefusedException($"Not an image ({contentType ?? "no type"}).");
            if (response.Content.Headers.ContentLength > _options.ImageProxyMaxBytes)
                throw new ImageRefusedException("The image is too large.");
            return new FetchedImage(await ReadCappedAsync(response.Content, timeout.Token), contentType.ToLowerInvariant());
        }
        catch (UriFormatException)
        {
            // The redirect handler cannot even parse where it was sent (file:///…): nothing to follow.
            throw new ImageRefusedException("The image server redirected to an address the image proxy does not follow; it only follows http and https.", StatusCodes.Status400BadRequest);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ImageRefusedException("The image server was too slow.");
        }
        catch (HttpRequestException e) when (e.InnerException is ImageRefusedException refused)
        {
            throw refused;
        }
        catch (HttpRequestException e)
        {
            throw new ImageRefusedException($"The image could not be fetched ({e.HttpRequestError}).");
        }
    }

    private async Task<byte[]> ReadCappedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > _options.ImageProxyMaxBytes)
                throw new ImageRefusedException("The image is too large.");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private ValueTask<Stream> ConnectToVettedAddressAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken) =>
        RemoteAddressPolicy.ConnectVettedAsync(context.DnsEndPoint, _isAllowed,
            target => new ImageRefusedException($"{target} is not an address the proxy connects to."), cancellationToken);

    private static bool IsPublicWebEndpoint(IPEndPoint endpoint) =>
        endpoint.Port is 80 or 443 && RemoteAddressPolicy.IsAllowed(endpoint.Address);

    public void Dispose() => _client.Dispose();
}
