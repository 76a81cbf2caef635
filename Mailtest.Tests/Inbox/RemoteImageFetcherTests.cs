using Mailtest.Tests.Infrastructure;
using System.Net;
using Mailtest.Web.Inbox;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Tests.Inbox;

/// <summary>
/// The image proxy's fetcher against a real HTTP server on loopback. The server is admitted by a test
/// address check (loopback is what the real check refuses first), so the other limits can be seen.
/// </summary>
[TestCategory(Needs.Host)]
public sealed class RemoteImageFetcherTests : IAsyncLifetime
{
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");
    private readonly TaskCompletionSource _neverAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication _server = null!;
    private Uri _base = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        _server = builder.Build();
        _server.MapGet("/logo.png", () => Results.Bytes(Png, "image/png"));
        _server.MapGet("/page.html", () => Results.Content("<script>alert(1)</script>", "text/html"));
        _server.MapGet("/drawing.svg", () => Results.Content("<svg onload=\"alert(1)\"/>", "image/svg+xml"));
        _server.MapGet("/huge.png", () => Results.Bytes(new byte[2 * 1024 * 1024], "image/png"));
        _server.MapGet("/huge-chunked.png", async (HttpResponse response) =>
        {
            response.ContentType = "image/png";
            for (var i = 0; i < 64; i++) await response.Body.WriteAsync(new byte[64 * 1024]);
        });
        _server.MapGet("/slow.png", async (CancellationToken aborted) =>
        {
            await _neverAnswered.Task.WaitAsync(aborted);
            return Results.Bytes(Png, "image/png");
        });
        _server.MapGet("/redirect-to-private", () => Results.Redirect("http://10.0.0.1/logo.png"));
        await _server.StartAsync();
        _base = new Uri(_server.Urls.Single());
    }

    public async ValueTask DisposeAsync()
    {
        _neverAnswered.TrySetResult();
        await _server.DisposeAsync();
    }

    private static readonly InboxOptions Limits = new() { ImageProxyMaxBytes = 1024 * 1024, ImageProxyTimeout = TimeSpan.FromSeconds(3) };

    // Admits the loopback test server and nothing else private: the real policy for every other address.
    private static bool LoopbackOrPublic(IPEndPoint endpoint) => IPAddress.IsLoopback(endpoint.Address) || RemoteAddressPolicy.IsAllowed(endpoint.Address);

    private Task<FetchedImage> FetchAsync(string path, RemoteImageFetcher? fetcher = null) =>
        (fetcher ?? new RemoteImageFetcher(Limits, LoopbackOrPublic)).FetchAsync(new Uri(_base, path), CancellationToken.None);

    [Fact]
    public async Task Passes_on_a_raster_image()
    {
        var image = await FetchAsync("/logo.png");

        Assert.Equal("image/png", image.ContentType);
        Assert.Equal(Png, image.Content);
    }

    [Theory]
    [InlineData("/page.html", "Not an image")]
    [InlineData("/drawing.svg", "Not an image")]
    [InlineData("/huge.png", "too large")]
    [InlineData("/huge-chunked.png", "too large")]
    [InlineData("/slow.png", "too slow")]
    [InlineData("/redirect-to-private", "not an address the proxy connects to")]
    public async Task Refuses_non_images_oversized_slow_and_redirects_to_private_addresses(string path, string reason)
    {
        var refused = await Assert.ThrowsAsync<ImageRefusedException>(() => FetchAsync(path));

        Assert.Contains(reason, refused.Message);
    }

    [Fact]
    public async Task The_real_address_check_refuses_the_loopback_server_by_address_and_by_name()
    {
        using var fetcher = new RemoteImageFetcher(Options.Create(Limits));

        var byAddress = await Assert.ThrowsAsync<ImageRefusedException>(() => FetchAsync("/logo.png", fetcher));
        var byName = await Assert.ThrowsAsync<ImageRefusedException>(() =>
            fetcher.FetchAsync(new Uri($"http://localhost:{_base.Port}/logo.png"), CancellationToken.None));

        Assert.Contains("not an address the proxy connects to", byAddress.Message);
        Assert.Contains("not an address the proxy connects to", byName.Message);
    }
}
