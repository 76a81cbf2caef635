using System.Text.Json;
using System.Threading.Channels;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Mailtest.Core.Webhooks;
using Mailtest.Smtp.Protection;
using Microsoft.Extensions.Options;

namespace Mailtest.Web.Webhooks;

/// <summary>
/// Posts a signed notification to the environment's webhook for every captured message. Ingest only
/// hands the event over (a non-blocking write to a bounded queue); a few workers deliver, so a slow or
/// dead receiver never slows SMTP. A failed attempt is retried with doubling waits until
/// <see cref="WebhookOptions.RetryFor"/> has passed since the first; each attempt goes to the log.
/// Pending retries live in memory: a restart drops them (the log shows the last attempt).
/// </summary>
public sealed class WebhookDispatcher(
    MessageEvents events,
    WebhookSettings settings,
    IMessageStore store,
    WebhookSender sender,
    IOptions<WebhookOptions> options,
    TimeProvider clock,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    public const string CapturedEvent = "message.captured";
    public const string TestEvent = "webhook.test";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly WebhookOptions _options = options.Value;
    private readonly ILogger _logger = logger;
    // A database outage fails every queued notification: one warning when it starts, one line when deliveries are logged again.
    private readonly FailureIncident _failing = new(logger, "Delivering webhooks");
    private readonly Channel<Delivery> _queue = Channel.CreateBounded<Delivery>(new BoundedChannelOptions(options.Value.QueueCapacity)
    {
        FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails at once instead of waiting
    });

    /// <summary>One notification; <see cref="Body"/> is built at the first attempt and re-signed at each.</summary>
    private sealed record Delivery(Guid Id, Guid EnvironmentId, Guid MessageId, int Attempt, DateTimeOffset FirstAttemptUtc, byte[]? Body);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Every environment's events: webhooks are a server-side consumer, not a reader.
        using var subscription = events.SubscribeToAll((e, _) =>
        {
            if (e is MessageCaptured captured && !_queue.Writer.TryWrite(new Delivery(Guid.CreateVersion7(), captured.EnvironmentId, captured.MessageId, 1, default, null)))
                _logger.LogWarning("Webhook queue full: the notification for message {MessageId} was dropped.", captured.MessageId);
            return Task.CompletedTask;
        });
        var workers = Enumerable.Range(0, Math.Max(1, _options.Concurrency)).Select(_ => WorkAsync(stoppingToken));
        await Task.WhenAll(workers);
    }

    /// <summary>The environment page's "send test": one attempt now, logged, no retry.</summary>
    public async Task<WebhookDelivery> SendTestAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var target = await settings.RequireTargetAsync(caller, environmentId, cancellationToken);
        var id = Guid.CreateVersion7();
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            @event = TestEvent, deliveryId = id, occurredAt = clock.GetUtcNow().UtcDateTime,
            environment = new { id = environmentId, name = target.EnvironmentName },
            message = (object?)null, links = new { inbox = Link("/dashboard/mailtest") },
        }, Json);
        return (await AttemptAsync(target, TestEvent, new Delivery(id, environmentId, Guid.Empty, 1, clock.GetUtcNow(), body), cancellationToken)).Logged;
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var delivery in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                try { await DeliverAsync(delivery, stoppingToken); }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    _failing.Failed(e, $"the notification for message {delivery.MessageId} (attempt {delivery.Attempt}) is not retried");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    private async Task DeliverAsync(Delivery delivery, CancellationToken stoppingToken)
    {
        var target = await settings.FindTargetAsync(delivery.EnvironmentId, stoppingToken);
        if (target is null) return; // no webhook (the common case), or removed since
        if (delivery.Body is null)
        {
            var message = await store.GetAsync(delivery.MessageId, [delivery.EnvironmentId], stoppingToken);
            if (message is null) return; // deleted before we got to it
            delivery = delivery with { FirstAttemptUtc = clock.GetUtcNow(), Body = CapturedBody(delivery.Id, target, message) };
        }
        if ((await AttemptAsync(target, CapturedEvent, delivery, stoppingToken)).RetryIn is { } wait)
            _ = RetryLaterAsync(delivery with { Attempt = delivery.Attempt + 1 }, wait, stoppingToken);
    }

    /// <summary>One attempt, logged; <c>RetryIn</c> is the wait the log promises before the next one (decided once, so the log never says a retry is coming that is not).</summary>
    private async Task<(WebhookDelivery Logged, TimeSpan? RetryIn)> AttemptAsync(WebhookTarget target, string eventName, Delivery delivery, CancellationToken cancellationToken)
    {
        var attemptedUtc = clock.GetUtcNow();
        var result = await sender.PostAsync(target, eventName, delivery.Id, delivery.Body!, cancellationToken);
        var outcome = result.Outcome;
        var retryIn = !result.Succeeded && eventName == CapturedEvent ? NextAttemptAt(delivery) : null;
        if (!result.Succeeded && eventName == CapturedEvent)
            outcome += retryIn is { } wait ? $"; retrying in {Words(wait)}" : $"; gave up after {delivery.Attempt} attempts";
        var entry = new WebhookDelivery
        {
            EnvironmentId = delivery.EnvironmentId, DeliveryId = delivery.Id, Event = eventName,
            MessageId = delivery.MessageId == Guid.Empty ? null : delivery.MessageId, Attempt = delivery.Attempt,
            AttemptedUtc = attemptedUtc.UtcDateTime, StatusCode = result.StatusCode, Succeeded = result.Succeeded,
            Outcome = outcome.Length > 300 ? outcome[..300] : outcome, DurationMs = (int)result.Duration.TotalMilliseconds,
        };
        await settings.RecordAsync(entry, CancellationToken.None);
        _failing.Succeeded(); // an attempt reached the log: deliveries work again (a cached "no webhook" proves nothing)
        return (entry, retryIn);
    }

    /// <summary>The wait before the next attempt, or null when it would start after the retry window.</summary>
    private TimeSpan? NextAttemptAt(Delivery delivery)
    {
        var wait = TimeSpan.FromTicks(Math.Min(
            _options.FirstRetryAfter.Ticks * (1L << Math.Min(delivery.Attempt - 1, 20)), _options.MaxRetryInterval.Ticks));
        return clock.GetUtcNow() + wait - delivery.FirstAttemptUtc <= _options.RetryFor ? wait : null;
    }

    private async Task RetryLaterAsync(Delivery delivery, TimeSpan wait, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(wait, clock, stoppingToken);
            if (!_queue.Writer.TryWrite(delivery))
                _logger.LogWarning("Webhook queue full: the retry for message {MessageId} was dropped.", delivery.MessageId);
        }
        catch (OperationCanceledException) { }
    }

    private byte[] CapturedBody(Guid deliveryId, WebhookTarget target, CapturedMessage message) => JsonSerializer.SerializeToUtf8Bytes(new
    {
        @event = CapturedEvent, deliveryId, occurredAt = message.ReceivedUtc,
        environment = new { id = target.EnvironmentId, name = target.EnvironmentName },
        message = new
        {
            id = message.Id, receivedAt = message.ReceivedUtc, from = message.From, to = message.To, cc = message.Cc,
            subject = message.Subject, messageId = message.MessageIdHeader, envelopeFrom = message.EnvelopeFrom,
            envelopeTo = message.EnvelopeTo.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            size = message.Size, attachments = message.AttachmentCount,
        },
        links = new
        {
            inbox = Link("/dashboard/mailtest"),
            message = Link($"/api/v1/environments/{target.EnvironmentId}/messages/{message.Id}"),
            raw = Link($"/api/v1/environments/{target.EnvironmentId}/messages/{message.Id}/raw"),
        },
    }, Json);

    private string Link(string path) => _options.PublicUrl.TrimEnd('/') + path;

    private static string Words(TimeSpan wait) => wait.TotalMinutes >= 1 ? $"{wait.TotalMinutes:0.#} min" : $"{wait.TotalSeconds:0.#} s";
}
