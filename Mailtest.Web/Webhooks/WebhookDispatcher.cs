using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Mailtest.Core.Data;
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
/// What survives a restart: a retry promised in the log (<see cref="WebhookDeliveryLog"/>) is resumed at
/// start, and so is a message whose notification was still queued (no attempt logged for it). While running,
/// every <see cref="WebhookOptions.SweepEvery"/> it takes up what the log holds and no node does (see
/// <see cref="SweepAsync"/>). A delivery that fails on the database waits, bounded, until the database answers again.
/// </summary>
public sealed class WebhookDispatcher(
    MessageEvents events,
    WebhookSettings settings,
    WebhookDeliveryLog log,
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
    // Notifications that failed on the database, until it answers again; as many as the queue holds.
    private readonly Channel<Delivery> _waitingForDatabase = Channel.CreateBounded<Delivery>(new BoundedChannelOptions(options.Value.QueueCapacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
    });
    private MessageSubscription? _subscription;
    private IReadOnlyList<PromisedWebhookRetry> _promisedAtStart = [];
    /// <summary>
    /// The promised retries (log entry ids) this node holds: waiting for their time, queued, under way until logged, or
    /// waiting for the database. The sweep leaves them alone.
    /// </summary>
    private readonly ConcurrentDictionary<long, byte> _heldPromises = new();

    /// <summary>
    /// One notification; <see cref="Body"/> is built at the first attempt (and again for a retry resumed after a restart) and re-signed at each.
    /// <see cref="FirstAttemptUtc"/> is where <see cref="WebhookOptions.RetryFor"/> counts from (until the first attempt, when it was queued).
    /// <see cref="PromiseId"/> is the logged attempt that promised this retry: claimed before it is made (<see cref="Claimed"/>), cleared when it is logged.
    /// </summary>
    private sealed record Delivery(Guid Id, Guid EnvironmentId, Guid MessageId, int Attempt, DateTimeOffset FirstAttemptUtc, byte[]? Body,
        long? PromiseId = null, DateTimeOffset DueUtc = default, bool Claimed = false);

    /// <summary>
    /// Subscribes, then reads what the last run left (promised retries, queued notifications) before the
    /// SMTP and HTTP endpoints open (hosted services start before the server): every message captured by
    /// this process comes as an event, every earlier one from the log, none both ways.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Every environment's events: webhooks are a server-side consumer, not a reader.
        _subscription = events.SubscribeToAll((e, _) =>
        {
            // One notification per message, so the message's id names it: sent again after a restart, it carries the same Mailtest-Delivery.
            if (e is MessageCaptured captured)
                Enqueue(new Delivery(captured.MessageId, captured.EnvironmentId, captured.MessageId, 1, clock.GetUtcNow(), null));
            return Task.CompletedTask;
        });
        await ResumeFromLogAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _subscription, null)?.Dispose();
        await base.StopAsync(cancellationToken);
    }

    private async Task ResumeFromLogAsync(CancellationToken cancellationToken)
    {
        try
        {
            var now = clock.GetUtcNow();
            _promisedAtStart = await log.ListPromisedRetriesAsync(cancellationToken: cancellationToken);
            var unattempted = await log.ListUnattemptedAsync((now - _options.RetryFor).UtcDateTime, now.UtcDateTime, _options.QueueCapacity, cancellationToken);
            foreach (var message in unattempted)
                Enqueue(new Delivery(message.MessageId, message.EnvironmentId, message.MessageId, 1, now, null));
            if (_promisedAtStart.Count + unattempted.Count > 0)
                _logger.LogInformation("Webhooks: resuming {Promised} promised retries and {Unattempted} notifications not attempted before this start.",
                    _promisedAtStart.Count, unattempted.Count);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogWarning(e, "Webhooks: the delivery log could not be read at start, so what the last run left is resumed at the next start.");
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        foreach (var promised in _promisedAtStart)
            RetryLater(Resumed(promised), stoppingToken);
        _promisedAtStart = [];
        var workers = Enumerable.Range(0, Math.Max(1, _options.Concurrency)).Select(_ => WorkAsync(stoppingToken));
        await Task.WhenAll([.. workers, DeliverOnceDatabaseAnswersAsync(stoppingToken), SweepAsync(stoppingToken)]);
    }

    /// <summary>The attempt a logged promise stands for.</summary>
    private static Delivery Resumed(PromisedWebhookRetry promised) =>
        new(promised.DeliveryId, promised.EnvironmentId, promised.MessageId, promised.Attempt + 1,
            new DateTimeOffset(promised.FirstAttemptUtc), null, promised.EntryId, new DateTimeOffset(promised.DueUtc));

    /// <summary>
    /// Takes up, without waiting for a restart, the promised retries that are due and that this node does not hold: promised
    /// by a node that stopped, a claim that lapsed after its node died mid-attempt, a retry the full queue could not take.
    /// Each is made by whichever node claims it.
    /// </summary>
    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.SweepEvery, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    foreach (var promised in await log.ListPromisedRetriesAsync(clock.GetUtcNow().UtcDateTime, stoppingToken))
                    {
                        if (_queue.Reader.Count >= _options.QueueCapacity) break; // still full: the next sweep
                        if (!_heldPromises.ContainsKey(promised.EntryId)) RetryLater(Resumed(promised), stoppingToken);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    _failing.Failed(e, "the delivery log could not be swept; tried again shortly");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
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
        var (attempt, _) = await AttemptAsync(target, TestEvent, new Delivery(id, environmentId, Guid.Empty, 1, clock.GetUtcNow(), body), cancellationToken);
        await RecordAsync(attempt, null);
        return attempt;
    }

    private void Enqueue(Delivery delivery)
    {
        Hold(delivery);
        if (_queue.Writer.TryWrite(delivery)) return;
        LetGo(delivery);
        if (delivery.PromiseId is null)
            _logger.LogWarning("Webhook queue full: the notification for message {MessageId} (attempt {Attempt}) was dropped.", delivery.MessageId, delivery.Attempt);
        else
            _logger.LogWarning("Webhook queue full: attempt {Attempt} of the notification for message {MessageId} stays promised in the delivery log, for its sweep.",
                delivery.Attempt, delivery.MessageId);
    }

    /// <summary>The delivery's promise, if any, is this node's to keep from now: the sweep leaves it alone.</summary>
    private void Hold(Delivery delivery)
    {
        if (delivery.PromiseId is { } promise) _heldPromises[promise] = 0;
    }

    /// <summary>The delivery's promise, if any, is not this node's any more: kept or withdrawn in the log, or left there for a sweep.</summary>
    private void LetGo(Delivery delivery)
    {
        if (delivery.PromiseId is { } promise) _heldPromises.TryRemove(promise, out _);
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var delivery in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                // ReadAllAsync hands out what is queued without looking at the token; stopping leaves it for the next start.
                stoppingToken.ThrowIfCancellationRequested();
                await DeliverAsync(delivery, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    /// <summary>One attempt of a notification, and its retry scheduled; false when the database failed it before the attempt (it then waits for the database).</summary>
    private async Task<bool> DeliverAsync(Delivery delivery, CancellationToken stoppingToken)
    {
        // A promise is held until its attempt is logged or given up; then its retry's, if any (waiting for the database, it stays held).
        var (done, retry) = await AttemptOnceAsync(delivery, stoppingToken);
        if (retry is not null) RetryLater(retry, stoppingToken);
        if (done && retry?.PromiseId != delivery.PromiseId) LetGo(delivery);
        return done;
    }

    /// <summary>One attempt, logged; its retry if one is due (not yet scheduled); Done false when the database failed it before the attempt.</summary>
    private async Task<(bool Done, Delivery? Retry)> AttemptOnceAsync(Delivery delivery, CancellationToken stoppingToken)
    {
        try
        {
            if (delivery is { PromiseId: { } promise, Claimed: false })
            {
                // Other nodes (or this one's last run) may know of this promise too: only the one that claims it makes the attempt.
                var heldUntil = clock.GetUtcNow() + 2 * _options.Timeout;
                if (!await log.ClaimAsync(promise, delivery.DueUtc.UtcDateTime, heldUntil.UtcDateTime, stoppingToken))
                {
                    _logger.LogDebug("Webhooks: attempt {Attempt} of delivery {DeliveryId} was taken by another node.", delivery.Attempt, delivery.Id);
                    return (true, null);
                }
                delivery = delivery with { Claimed = true };
            }
            var target = await settings.FindTargetAsync(delivery.EnvironmentId, stoppingToken);
            if (target is null) // no webhook (the common case), or removed since
                return (await GiveUpPromiseAsync(delivery, "the webhook was removed"), null);
            if (delivery.Body is null)
            {
                if (delivery.Attempt > 1 && clock.GetUtcNow() - delivery.FirstAttemptUtc > _options.RetryFor)
                    return (await GiveUpPromiseAsync(delivery, "the retry window ended while Mailtest was stopped"), null);
                var message = await store.GetAsync(delivery.MessageId, [delivery.EnvironmentId], stoppingToken);
                if (message is null) // deleted before we got to it
                    return (await GiveUpPromiseAsync(delivery, "the message was deleted"), null);
                delivery = delivery with
                {
                    FirstAttemptUtc = delivery.Attempt == 1 ? clock.GetUtcNow() : delivery.FirstAttemptUtc,
                    Body = CapturedBody(delivery.Id, target, message),
                };
            }
            // The attempt itself is not cut short by a stop (Timeout bounds it), so a stop never leaves one half made and unlogged.
            var (attempt, retryAt) = await AttemptAsync(target, CapturedEvent, delivery, CancellationToken.None);
            var logged = await RecordAsync(attempt, delivery.PromiseId);
            if (retryAt is { } due)
            {
                // Logged, the retry is a promise of its own; unlogged, it is still the one this node holds.
                var next = logged
                    ? delivery with { Attempt = delivery.Attempt + 1, PromiseId = attempt.Id, DueUtc = due, Claimed = false }
                    : delivery with { Attempt = delivery.Attempt + 1, DueUtc = due };
                return (true, next);
            }
            return (true, null);
        }
        catch (Exception e) when (DatabaseUnavailable.Of(e) != DatabaseFailure.None)
        {
            WaitForDatabase(delivery, e);
            return (false, null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            _failing.Failed(e, $"the notification for message {delivery.MessageId} (attempt {delivery.Attempt}) is not retried");
            return (true, null);
        }
    }

    /// <summary>A claimed promise that will not be kept says so in the log; an unclaimed first attempt just ends.</summary>
    private async Task<bool> GiveUpPromiseAsync(Delivery delivery, string reason)
    {
        if (delivery is not { PromiseId: { } promise, Claimed: true }) return true;
        await log.GiveUpAsync(promise, reason, CancellationToken.None);
        _logger.LogInformation("Webhooks: delivery {DeliveryId} for message {MessageId} gave up before attempt {Attempt}: {Reason}.",
            delivery.Id, delivery.MessageId, delivery.Attempt, reason);
        return true;
    }

    /// <summary>One attempt; <c>RetryAt</c> is when the log promises the next one (decided once, so the log never says a retry is coming that is not).</summary>
    private async Task<(WebhookDelivery Attempt, DateTimeOffset? RetryAt)> AttemptAsync(WebhookTarget target, string eventName, Delivery delivery, CancellationToken cancellationToken)
    {
        var attemptedUtc = clock.GetUtcNow();
        var result = await sender.PostAsync(target, eventName, delivery.Id, delivery.Body!, cancellationToken);
        var outcome = result.Outcome;
        var retryIn = !result.Succeeded && eventName == CapturedEvent ? NextAttemptAt(delivery) : null;
        if (!result.Succeeded && eventName == CapturedEvent)
            outcome += retryIn is { } wait ? $"; retrying in {Words(wait)}" : $"; gave up after {delivery.Attempt} attempts";
        var retryAt = clock.GetUtcNow() + retryIn;
        var entry = new WebhookDelivery
        {
            EnvironmentId = delivery.EnvironmentId, DeliveryId = delivery.Id, Event = eventName,
            MessageId = delivery.MessageId == Guid.Empty ? null : delivery.MessageId, Attempt = delivery.Attempt,
            AttemptedUtc = attemptedUtc.UtcDateTime, StatusCode = result.StatusCode, Succeeded = result.Succeeded,
            Outcome = outcome.Length > 300 ? outcome[..300] : outcome, DurationMs = (int)result.Duration.TotalMilliseconds,
            NextAttemptUtc = retryAt?.UtcDateTime,
        };
        return (entry, retryAt);
    }

    /// <summary>Logs an attempt (and clears the promise it kept); false when the database failed it (the attempt was made all the same).</summary>
    private async Task<bool> RecordAsync(WebhookDelivery attempt, long? keptPromise)
    {
        try
        {
            await log.RecordAsync(attempt, keptPromise, CancellationToken.None);
        }
        catch (Exception e) when (attempt.Event == CapturedEvent && DatabaseUnavailable.Of(e) != DatabaseFailure.None)
        {
            _failing.Failed(e, $"attempt {attempt.Attempt} of the notification for message {attempt.MessageId} was made but could not be logged");
            return false;
        }
        _failing.Succeeded(); // an attempt reached the log: deliveries work again (a cached "no webhook" proves nothing)
        return true;
    }

    /// <summary>The wait before the next attempt, or null when it would start after the retry window.</summary>
    private TimeSpan? NextAttemptAt(Delivery delivery)
    {
        var wait = TimeSpan.FromTicks(Math.Min(
            _options.FirstRetryAfter.Ticks * (1L << Math.Min(delivery.Attempt - 1, 20)), _options.MaxRetryInterval.Ticks));
        return clock.GetUtcNow() + wait - delivery.FirstAttemptUtc <= _options.RetryFor ? wait : null;
    }

    /// <summary>Holds <paramref name="delivery"/> (the sweep leaves it alone) and queues it when it is due.</summary>
    private void RetryLater(Delivery delivery, CancellationToken stoppingToken)
    {
        Hold(delivery);
        _ = RetryLaterAsync(delivery, stoppingToken);
    }

    private async Task RetryLaterAsync(Delivery delivery, CancellationToken stoppingToken)
    {
        try
        {
            if (delivery.DueUtc - clock.GetUtcNow() is { Ticks: > 0 } wait)
                await Task.Delay(wait, clock, stoppingToken);
            // A retry the queue has no room for stays promised in the log: the sweep (or the next start) takes it up.
            Enqueue(delivery);
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>A notification the database failed before its attempt waits for it, within the retry window (counted from the first attempt, or from when it was queued).</summary>
    private void WaitForDatabase(Delivery delivery, Exception error)
    {
        _failing.Failed(error, $"the notification for message {delivery.MessageId} (attempt {delivery.Attempt}) waits for the database");
        if (clock.GetUtcNow() - delivery.FirstAttemptUtc > _options.RetryFor)
        {
            LetGo(delivery);
            _logger.LogWarning("Webhooks: the notification for message {MessageId} (attempt {Attempt}) gave up: the database did not answer within the retry window.",
                delivery.MessageId, delivery.Attempt);
        }
        else if (!_waitingForDatabase.Writer.TryWrite(delivery)) // written: still held
        {
            LetGo(delivery);
            _logger.LogWarning("Webhooks: too many notifications wait for the database; the one for message {MessageId} (attempt {Attempt}) was dropped.",
                delivery.MessageId, delivery.Attempt);
        }
    }

    /// <summary>
    /// Every <see cref="WebhookOptions.FirstRetryAfter"/>, the oldest notification waiting for the database
    /// tries again; once it gets through, the others go back to the senders.
    /// </summary>
    private async Task DeliverOnceDatabaseAnswersAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _waitingForDatabase.Reader.WaitToReadAsync(stoppingToken))
            {
                await Task.Delay(_options.FirstRetryAfter, clock, stoppingToken);
                if (!_waitingForDatabase.Reader.TryRead(out var probe) || !await DeliverAsync(probe, stoppingToken)) continue;
                while (_waitingForDatabase.Reader.TryRead(out var waiting))
                    await _queue.Writer.WriteAsync(waiting, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
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
