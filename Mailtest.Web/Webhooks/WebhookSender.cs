using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Mailtest.Core.Webhooks;
using Mailtest.Web.Inbox;
using Microsoft.Extensions.Options;

namespace Mailtest.Web.Webhooks;

/// <summary>The outcome of one POST.</summary>
public sealed record WebhookAttemptResult(int? StatusCode, bool Succeeded, string Outcome, TimeSpan Duration);

/// <summary>Refused before connecting: the URL's host is not an address webhooks may reach.</summary>
public sealed class WebhookAddressRefusedException(string message) : Exception(message);

/// <summary>
/// Posts one signed notification. Unless <see cref="WebhookOptions.AllowPrivateAddresses"/> is on,
/// every connection resolves the host itself, refuses it unless every address is public
/// (<see cref="RemoteAddressPolicy"/>, the image proxy's policy) and connects to the vetted address,
/// so a second DNS answer cannot swap in a private one. Redirects are not followed (a redirect to a
/// private address would be the same SSRF); any 2xx is success.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    private readonly HttpClient _client;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _clock;

    public WebhookSender(IOptions<WebhookOptions> options, TimeProvider clock)
    {
        _options = options.Value;
        _clock = clock;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        };
        if (!_options.AllowPrivateAddresses) handler.ConnectCallback = ConnectToPublicAddressAsync;
        _client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd("Mailtest-Webhook/1.0");
    }

    public async Task<WebhookAttemptResult> PostAsync(WebhookTarget target, string eventName, Guid deliveryId, byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, target.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add("Mailtest-Event", eventName);
        request.Headers.Add("Mailtest-Delivery", deliveryId.ToString());
        request.Headers.Add(WebhookSignature.HeaderName, WebhookSignature.Sign(target.Secret, _clock.GetUtcNow(), body));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            var succeeded = status is >= 200 and < 300;
            return new WebhookAttemptResult(status, succeeded, $"{status} {response.ReasonPhrase}".Trim(), Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new WebhookAttemptResult(null, false, $"no answer within {_options.Timeout.TotalSeconds:0.#} s", Stopwatch.GetElapsedTime(started));
        }
        catch (HttpRequestException e) when (e.InnerException is WebhookAddressRefusedException refused)
        {
            return new WebhookAttemptResult(null, false, refused.Message, Stopwatch.GetElapsedTime(started));
        }
        catch (HttpRequestException e)
        {
            return new WebhookAttemptResult(null, false, $"could not connect ({e.HttpRequestError})", Stopwatch.GetElapsedTime(started));
        }
    }

    private static ValueTask<Stream> ConnectToPublicAddressAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken) =>
        RemoteAddressPolicy.ConnectVettedAsync(context.DnsEndPoint, endpoint => RemoteAddressPolicy.IsAllowed(endpoint.Address),
            _ => new WebhookAddressRefusedException(
                $"refused: {context.DnsEndPoint.Host} is a private, loopback or reserved address (set Mailtest:Webhooks:AllowPrivateAddresses to allow it)"),
            cancellationToken);

    public void Dispose() => _client.Dispose();
}
