using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Messages;

/// <summary>Something happened to captured mail; open inboxes and API streams react.</summary>
public abstract record MessageEvent(Guid OrganizationId, Guid EnvironmentId);
/// <param name="Summary">The stored summary, when the publisher has it (the ingest writer does), so listeners need not read it back.</param>
public sealed record MessageCaptured(Guid OrganizationId, Guid EnvironmentId, Guid MessageId, MessageListItem? Summary = null) : MessageEvent(OrganizationId, EnvironmentId);
public sealed record MessageDeleted(Guid OrganizationId, Guid EnvironmentId, Guid MessageId) : MessageEvent(OrganizationId, EnvironmentId);
/// <summary>One message was marked read or unread: lists update that row in place, and a waiter for <c>is:read</c> looks at it.</summary>
public sealed record MessageReadChanged(Guid OrganizationId, Guid EnvironmentId, Guid MessageId, bool IsRead) : MessageEvent(OrganizationId, EnvironmentId);
/// <summary>Every message of the environment is read now ("mark all read"): lists update in place, and waiters look for the newest match.</summary>
public sealed record MessagesMarkedRead(Guid OrganizationId, Guid EnvironmentId) : MessageEvent(OrganizationId, EnvironmentId);
/// <summary>Many messages changed in a way a list cannot apply row by row (a purge, a delete by search): read again what is shown.</summary>
public record MessagesChanged(Guid OrganizationId, Guid EnvironmentId) : MessageEvent(OrganizationId, EnvironmentId);
/// <summary>
/// These messages' tags were set, renamed or removed through the API: lists read again (it is a <see cref="MessagesChanged"/>),
/// and a message may now match a search it did not, so waiters for a match look at these messages.
/// </summary>
public sealed record MessagesTagged(Guid OrganizationId, Guid EnvironmentId, IReadOnlyList<Guid> MessageIds) : MessagesChanged(OrganizationId, EnvironmentId);
/// <summary>Mail captured in the environment is now in the full-text index (it follows the commit by a fraction of a second): lists showing a search read again.</summary>
public sealed record MessagesSearchable(Guid OrganizationId, Guid EnvironmentId) : MessageEvent(OrganizationId, EnvironmentId);

/// <summary>
/// The in-process bus: a singleton with disposable subscriptions. A subscriber names the
/// environments it shows and receives events of those only. Each subscription has its own queue
/// and delivers in publish order, off the publisher's path (ingest never waits for a slow browser);
/// a handler that throws is logged and the subscription goes on with the next event. A subscriber
/// that does real work per event (a list that re-reads) takes them in batches: whatever is queued
/// when it is ready, so under a burst it does that work once per batch, not once per message.
/// </summary>
public sealed class MessageEvents(ILogger<MessageEvents> logger)
{
    private readonly Lock _gate = new();
    // Copy-on-write: Publish reads without locking; subscribe and dispose replace the whole map.
    private volatile Routes _routes = new(new Dictionary<Guid, MessageSubscription[]>(), []);

    /// <summary>
    /// Events of <paramref name="environmentIds"/> only. The caller passes environments the subscriber
    /// may read; to follow another set, dispose and subscribe again.
    /// </summary>
    public MessageSubscription Subscribe(IEnumerable<Guid> environmentIds, Func<MessageEvent, CancellationToken, Task> handler) =>
        SubscribeInBatches(environmentIds, MessageSubscription.OneByOne(handler, logger));

    /// <summary>
    /// Like <see cref="Subscribe"/>, but the handler gets every event queued by the time it is ready
    /// (at least one, in publish order); while it runs, the next batch gathers.
    /// </summary>
    public MessageSubscription SubscribeInBatches(IEnumerable<Guid> environmentIds, Func<IReadOnlyList<MessageEvent>, CancellationToken, Task> handler)
    {
        Guid[] shown = [.. environmentIds.Distinct()];
        var subscription = new MessageSubscription(this, shown, handler, logger);
        lock (_gate)
        {
            var byEnvironment = new Dictionary<Guid, MessageSubscription[]>(_routes.ByEnvironment);
            foreach (var environmentId in shown)
                byEnvironment[environmentId] = byEnvironment.TryGetValue(environmentId, out var existing) ? [.. existing, subscription] : [subscription];
            _routes = _routes with { ByEnvironment = byEnvironment };
        }
        subscription.Start();
        return subscription;
    }

    /// <summary>
    /// Every environment's events, for server-side consumers that are not a reader (the cluster
    /// bridge, webhooks). Anything that shows mail to a person subscribes per environment.
    /// </summary>
    public MessageSubscription SubscribeToAll(Func<MessageEvent, CancellationToken, Task> handler)
    {
        var subscription = new MessageSubscription(this, null, MessageSubscription.OneByOne(handler, logger), logger);
        lock (_gate) _routes = _routes with { Everything = [.. _routes.Everything, subscription] };
        subscription.Start();
        return subscription;
    }

    public void Publish(MessageEvent messageEvent)
    {
        var routes = _routes;
        if (routes.ByEnvironment.TryGetValue(messageEvent.EnvironmentId, out var subscribers))
            foreach (var subscription in subscribers) subscription.Enqueue(messageEvent);
        foreach (var subscription in routes.Everything) subscription.Enqueue(messageEvent);
    }

    /// <summary>How many subscriptions receive this environment's events (tests and diagnostics).</summary>
    public int SubscriberCount(Guid environmentId) =>
        (_routes.ByEnvironment.TryGetValue(environmentId, out var subscribers) ? subscribers.Length : 0) + _routes.Everything.Length;

    internal void Remove(MessageSubscription subscription)
    {
        lock (_gate)
        {
            if (subscription.EnvironmentIds is null)
            {
                _routes = _routes with { Everything = [.. _routes.Everything.Where(s => s != subscription)] };
                return;
            }
            var byEnvironment = new Dictionary<Guid, MessageSubscription[]>(_routes.ByEnvironment);
            foreach (var environmentId in subscription.EnvironmentIds)
            {
                if (!byEnvironment.TryGetValue(environmentId, out var existing)) continue;
                MessageSubscription[] remaining = [.. existing.Where(s => s != subscription)];
                if (remaining.Length == 0) byEnvironment.Remove(environmentId);
                else byEnvironment[environmentId] = remaining;
            }
            _routes = _routes with { ByEnvironment = byEnvironment };
        }
    }

    private sealed record Routes(IReadOnlyDictionary<Guid, MessageSubscription[]> ByEnvironment, MessageSubscription[] Everything);
}

/// <summary>
/// One subscriber's queue and delivery loop. Disposing stops delivery and cancels the token the
/// running handler was given; <see cref="DisposeAsync"/> also waits for that handler to return
/// (so never await it from inside the handler).
/// </summary>
public sealed class MessageSubscription : IDisposable, IAsyncDisposable
{
    /// <summary>The most events handed over at once: a batch handler's work stays bounded.</summary>
    public const int MaxBatch = 1000;

    private readonly MessageEvents _events;
    private readonly Func<IReadOnlyList<MessageEvent>, CancellationToken, Task> _handler;
    private readonly ILogger _logger;
    private readonly Channel<MessageEvent> _queue = Channel.CreateUnbounded<MessageEvent>(new() { SingleReader = true });
    private readonly CancellationTokenSource _stopped = new();
    private Task _delivery = Task.CompletedTask;

    internal MessageSubscription(MessageEvents events, IReadOnlyList<Guid>? environmentIds, Func<IReadOnlyList<MessageEvent>, CancellationToken, Task> handler, ILogger logger)
    {
        _events = events;
        EnvironmentIds = environmentIds;
        _handler = handler;
        _logger = logger;
    }

    /// <summary>The environments this subscription receives; null for all.</summary>
    public IReadOnlyList<Guid>? EnvironmentIds { get; }

    internal void Start() => _delivery = Task.Run(DeliverAsync);

    internal void Enqueue(MessageEvent messageEvent) => _queue.Writer.TryWrite(messageEvent);

    private async Task DeliverAsync()
    {
        var stopped = _stopped.Token;
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stopped))
            {
                var batch = new List<MessageEvent>();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var next)) batch.Add(next);
                try { await _handler(batch, stopped); }
                catch (OperationCanceledException) when (stopped.IsCancellationRequested) { return; }
                catch (Exception exception) { LogFailure(_logger, exception, batch[0]); }
            }
        }
        catch (OperationCanceledException) when (stopped.IsCancellationRequested) { }
    }

    /// <summary>A handler of single events as a batch handler: one that throws does not keep the rest of its batch away.</summary>
    internal static Func<IReadOnlyList<MessageEvent>, CancellationToken, Task> OneByOne(Func<MessageEvent, CancellationToken, Task> handler, ILogger logger) =>
        async (batch, stopped) =>
        {
            foreach (var messageEvent in batch)
            {
                try { await handler(messageEvent, stopped); }
                catch (OperationCanceledException) when (stopped.IsCancellationRequested) { throw; }
                catch (Exception exception) { LogFailure(logger, exception, messageEvent); }
            }
        };

    private static void LogFailure(ILogger logger, Exception exception, MessageEvent messageEvent) =>
        logger.LogError(exception, "A subscriber failed to handle {Event} of environment {EnvironmentId}; it keeps receiving later events.",
            messageEvent.GetType().Name, messageEvent.EnvironmentId);

    public void Dispose()
    {
        _events.Remove(this);
        _queue.Writer.TryComplete();
        if (!_stopped.IsCancellationRequested) _stopped.Cancel();
    }

    public async ValueTask DisposeAsync()
    {
        Dispose();
        await _delivery;
    }
}
