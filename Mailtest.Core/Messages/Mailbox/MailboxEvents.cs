using System.Threading.Channels;
using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Messages.Mailbox;

/// <summary>What happened in an environment's mailbox, numbered for Server-Sent Events.</summary>
/// <param name="Id">Increases with every event on this node (starts from the node's start time, so ids keep growing across restarts).</param>
/// <param name="Type"><c>captured</c>, <c>deleted</c>, <c>read</c> or <c>changed</c> (many messages at once: reload).</param>
/// <param name="Message">The summary of a captured message.</param>
public sealed record MailboxEvent(long Id, string Type, Guid EnvironmentId, DateTime OccurredUtc, Guid? MessageId, MessageListItem? Message, bool? IsRead);

/// <summary>
/// The API's live view of <see cref="MessageEvents"/>: every event numbered in one order and kept per
/// environment for <see cref="ResumeWindow"/>, so a client that reconnects with <c>Last-Event-ID</c>
/// gets what it missed. Opening a stream registers it and takes the replay in one step under the same
/// lock that appends, so nothing falls between the replay and the live events, and nothing comes twice.
/// </summary>
public sealed class MailboxEvents : IDisposable
{
    public static readonly TimeSpan ResumeWindow = TimeSpan.FromMinutes(5);
    public const int MaxKeptPerEnvironment = 1000;

    private readonly IDbContextFactory<MailtestDbContext> _dbFactory;
    private readonly TimeProvider _clock;
    private readonly ILogger<MailboxEvents> _logger;
    private readonly IDisposable _subscription;
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, Kept> _kept = [];
    private readonly long _firstId;
    private long _lastId;

    public MailboxEvents(MessageEvents events, IDbContextFactory<MailtestDbContext> dbFactory, TimeProvider clock, ILogger<MailboxEvents> logger)
    {
        _dbFactory = dbFactory;
        _clock = clock;
        _logger = logger;
        _firstId = _lastId = clock.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        // Numbered on the subscription's own delivery loop (one event at a time, in publish order): no second queue to wait in.
        _subscription = events.SubscribeToAll(NumberAsync);
    }

    /// <summary>
    /// Starts a stream of the environment's events. With <paramref name="lastEventId"/>, the events after it
    /// that are still kept come first; <see cref="MailboxStream.Incomplete"/> says some could not be (reload).
    /// </summary>
    public MailboxStream Open(Guid environmentId, long? lastEventId)
    {
        var live = Channel.CreateBounded<MailboxEvent>(new BoundedChannelOptions(10_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });
        lock (_gate)
        {
            if (!_kept.TryGetValue(environmentId, out var kept)) _kept[environmentId] = kept = new Kept();
            kept.Listeners.Add(live.Writer);
            IReadOnlyList<MailboxEvent> replay = [];
            var incomplete = false;
            if (lastEventId is { } last)
            {
                Trim(kept);
                replay = [.. kept.Events.Where(e => e.Id > last)];
                // Older than this node's first event, or older than what is still kept: some events may be gone.
                incomplete = last < _firstId || last < kept.ForgottenThroughId || last > _lastId;
            }
            return new MailboxStream(replay, incomplete, live.Reader, () => Close(environmentId, live.Writer));
        }
    }

    private void Close(Guid environmentId, ChannelWriter<MailboxEvent> listener)
    {
        lock (_gate)
            if (_kept.TryGetValue(environmentId, out var kept)) kept.Listeners.Remove(listener);
    }

    /// <summary>Numbers each event, in the order they were published, and hands it to the environment's open streams.</summary>
    private async Task NumberAsync(MessageEvent messageEvent, CancellationToken cancellationToken)
    {
        try
        {
            var described = await DescribeAsync(messageEvent, cancellationToken);
            lock (_gate)
            {
                var numbered = described with { Id = ++_lastId };
                if (!_kept.TryGetValue(numbered.EnvironmentId, out var kept)) _kept[numbered.EnvironmentId] = kept = new Kept();
                kept.Events.Enqueue(numbered);
                Trim(kept);
                foreach (var listener in kept.Listeners) listener.TryWrite(numbered);
            }
        }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogError(error, "A mailbox event for environment {EnvironmentId} could not be delivered to API streams.", messageEvent.EnvironmentId);
        }
    }

    private async Task<MailboxEvent> DescribeAsync(MessageEvent messageEvent, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        switch (messageEvent)
        {
            case MessageCaptured { Summary: { } stored } captured:
                // Carried by the event: no read per message (at hundreds a second, one read each held the stream back by seconds).
                return new MailboxEvent(0, "captured", captured.EnvironmentId, now, captured.MessageId, stored, stored.IsRead);
            case MessageCaptured captured:
                await using (var db = await _dbFactory.CreateDbContextAsync(cancellationToken))
                {
                    var summary = await db.Messages.AsNoTracking().Where(m => m.Id == captured.MessageId)
                        .Select(m => new MessageListItem(m.Id, m.EnvironmentId, m.ReceivedUtc, m.EnvelopeFrom, m.EnvelopeTo, m.From, m.To, m.Subject, m.AttachmentCount, m.IsRead, m.Size, m.Tags))
                        .SingleOrDefaultAsync(cancellationToken);
                    return new MailboxEvent(0, "captured", captured.EnvironmentId, now, captured.MessageId, summary, summary?.IsRead);
                }
            case MessageDeleted deleted:
                return new MailboxEvent(0, "deleted", deleted.EnvironmentId, now, deleted.MessageId, null, null);
            case MessageReadChanged read:
                return new MailboxEvent(0, "read", read.EnvironmentId, now, read.MessageId, null, read.IsRead);
            default:
                return new MailboxEvent(0, "changed", messageEvent.EnvironmentId, now, null, null, null);
        }
    }

    private void Trim(Kept kept)
    {
        var oldest = _clock.GetUtcNow().UtcDateTime - ResumeWindow;
        while (kept.Events.TryPeek(out var first) && (kept.Events.Count > MaxKeptPerEnvironment || first.OccurredUtc < oldest))
            kept.ForgottenThroughId = kept.Events.Dequeue().Id;
    }

    public void Dispose()
    {
        _subscription.Dispose();
    }

    private sealed class Kept
    {
        public Queue<MailboxEvent> Events { get; } = new();
        public List<ChannelWriter<MailboxEvent>> Listeners { get; } = [];
        public long ForgottenThroughId { get; set; }
    }
}

/// <summary>One client's stream: the replay after its Last-Event-ID, then live events. Dispose to stop.</summary>
/// <param name="Incomplete">Events after the client's Last-Event-ID are no longer kept: it should reload.</param>
public sealed class MailboxStream(IReadOnlyList<MailboxEvent> replay, bool incomplete, ChannelReader<MailboxEvent> live, Action close) : IDisposable
{
    public IReadOnlyList<MailboxEvent> Replay { get; } = replay;
    public bool Incomplete { get; } = incomplete;
    public ChannelReader<MailboxEvent> Live { get; } = live;
    public void Dispose() => close();
}
