namespace Mailtest.Core.Messages;

/// <summary>Something happened to captured mail; open inboxes and API streams react.</summary>
public abstract record MessageEvent(Guid OrganizationId, Guid EnvironmentId);
public sealed record MessageCaptured(Guid OrganizationId, Guid EnvironmentId, Guid MessageId) : MessageEvent(OrganizationId, EnvironmentId);
public sealed record MessageDeleted(Guid OrganizationId, Guid EnvironmentId, Guid MessageId) : MessageEvent(OrganizationId, EnvironmentId);
/// <summary>Several messages changed at once (mark all read, purge): reload.</summary>
public sealed record MessagesChanged(Guid OrganizationId, Guid EnvironmentId) : MessageEvent(OrganizationId, EnvironmentId);

/// <summary>
/// The in-process bus: a singleton with disposable subscriptions. Handlers run off the publisher's
/// path (ingest never waits for a slow browser), and one failing handler does not stop the others.
/// </summary>
public sealed class MessageEvents
{
    private readonly Lock _gate = new();
    private ImmutableHandlers _handlers = new([]);

    public IDisposable Subscribe(Func<MessageEvent, Task> handler)
    {
        lock (_gate) _handlers = new([.. _handlers.Items, handler]);
        return new Subscription(this, handler);
    }

    public void Publish(MessageEvent messageEvent)
    {
        foreach (var handler in _handlers.Items)
            _ = Task.Run(async () =>
            {
                try { await handler(messageEvent); }
                catch (Exception) { /* a closed circuit or stream; the subscriber unsubscribes on dispose */ }
            });
    }

    private void Unsubscribe(Func<MessageEvent, Task> handler)
    {
        lock (_gate) _handlers = new([.. _handlers.Items.Where(h => h != handler)]);
    }

    private sealed record ImmutableHandlers(Func<MessageEvent, Task>[] Items);

    private sealed class Subscription(MessageEvents events, Func<MessageEvent, Task> handler) : IDisposable
    {
        public void Dispose() => events.Unsubscribe(handler);
    }
}
