using Mailtest.Tests.Infrastructure;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Mailtest.Core.Messages;
using Microsoft.Extensions.Logging;

namespace Mailtest.Tests.Messages;

/// <summary>The live bus on its own: per-environment delivery, order, failures logged, unsubscribe.</summary>
[TestCategory(Needs.Unit)]
public sealed class MessageEventsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly RecordingLogger _log = new();
    private readonly MessageEvents _events;

    public MessageEventsTests() => _events = new MessageEvents(_log);

    private static Guid Org { get; } = Guid.NewGuid();

    private static Channel<MessageEvent> Inbox() => Channel.CreateUnbounded<MessageEvent>();

    [Fact]
    public async Task A_subscriber_receives_only_the_environments_it_shows_in_publish_order()
    {
        var staging = Guid.NewGuid();
        var dev = Guid.NewGuid();
        var stagingOnly = Inbox();
        var both = Inbox();
        using var first = _events.Subscribe([staging], async (e, _) => await stagingOnly.Writer.WriteAsync(e));
        using var second = _events.Subscribe([staging, dev], async (e, _) => await both.Writer.WriteAsync(e));

        var published = Enumerable.Range(0, 100).Select(i => (MessageEvent)new MessageCaptured(Org, i % 2 == 0 ? staging : dev, Guid.NewGuid())).ToList();
        foreach (var e in published) _events.Publish(e);

        Assert.Equal(published.Where(e => e.EnvironmentId == staging), await ReadAsync(stagingOnly, 50));
        Assert.Equal(published, await ReadAsync(both, 100));
        _events.Publish(new MessagesChanged(Org, Guid.NewGuid())); // nobody shows it
        await Task.Delay(100);
        Assert.False(stagingOnly.Reader.TryRead(out _));
        Assert.False(both.Reader.TryRead(out _));
    }

    [Fact]
    public async Task A_failing_handler_is_logged_and_keeps_receiving()
    {
        var environment = Guid.NewGuid();
        var received = Inbox();
        using var subscription = _events.Subscribe([environment], async (e, _) =>
        {
            if (e is MessageDeleted) throw new InvalidOperationException("the circuit is gone");
            await received.Writer.WriteAsync(e);
        });

        _events.Publish(new MessageDeleted(Org, environment, Guid.NewGuid()));
        var after = new MessageCaptured(Org, environment, Guid.NewGuid());
        _events.Publish(after);

        Assert.Equal([after], await ReadAsync(received, 1));
        var logged = Assert.Single(_log.Entries);
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.IsType<InvalidOperationException>(logged.Exception);
        Assert.Contains("MessageDeleted", logged.Message);
    }

    [Fact]
    public async Task After_dispose_nothing_is_delivered_and_the_running_handler_is_cancelled()
    {
        var environment = Guid.NewGuid();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var subscription = _events.Subscribe([environment], async (_, token) =>
        {
            Interlocked.Increment(ref calls);
            started.TrySetResult();
            try { await Task.Delay(Timeout.Infinite, token); }
            catch (OperationCanceledException) { cancelled.TrySetResult(); throw; }
        });
        _events.Publish(new MessageCaptured(Org, environment, Guid.NewGuid()));
        await started.Task.WaitAsync(Wait);

        await subscription.DisposeAsync();
        _events.Publish(new MessageCaptured(Org, environment, Guid.NewGuid()));

        await cancelled.Task.WaitAsync(Wait);
        Assert.Equal(1, calls);
        Assert.Equal(0, _events.SubscriberCount(environment));
        Assert.Empty(_log.Entries);
    }

    [Fact]
    public async Task Subscribing_to_all_receives_every_environment()
    {
        var all = Inbox();
        using var subscription = _events.SubscribeToAll(async (e, _) => await all.Writer.WriteAsync(e));
        MessageEvent[] published = [new MessageCaptured(Org, Guid.NewGuid(), Guid.NewGuid()), new MessagesMarkedRead(Org, Guid.NewGuid())];

        foreach (var e in published) _events.Publish(e);

        Assert.Equal(published, await ReadAsync(all, 2));
    }

    private static async Task<List<MessageEvent>> ReadAsync(Channel<MessageEvent> channel, int count)
    {
        var read = new List<MessageEvent>();
        using var timeout = new CancellationTokenSource(Wait);
        while (read.Count < count) read.Add(await channel.Reader.ReadAsync(timeout.Token));
        return read;
    }

    private sealed class RecordingLogger : ILogger<MessageEvents>
    {
        public ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception), exception));
    }
}
