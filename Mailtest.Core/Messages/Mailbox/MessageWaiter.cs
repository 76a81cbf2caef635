using System.Linq.Expressions;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Messages.Mailbox;

/// <summary>
/// "Wait until a message matching this search arrives", without polling: a waiter hangs on the
/// in-process <see cref="MessageEvents"/> and is answered the moment a matching message is stored, or
/// the moment a stored message comes to match by being tagged through the API (<see cref="MessagesTagged"/>)
/// or marked read or unread (<see cref="MessageReadChanged"/>, <see cref="MessagesMarkedRead"/>): a test that
/// waits for <c>tag:verified</c> or <c>is:read</c> is waiting for that change, whenever the message arrived.
///
/// No message is missed between the check and the wait: the waiter is registered first, then the
/// messages already stored after <c>since</c> are checked, so a message committed in between is seen
/// by one path or the other (or both: the first answer wins). A just-stored message is judged by the
/// search evaluated against the message itself (<see cref="MessageSearchMatch"/>), because the
/// full-text index catches up a fraction of a second after the commit; for the same reason the check
/// of already-stored messages also evaluates the last few seconds' messages in memory.
///
/// All waiters of an environment share one read of each new message; each answer is checked against
/// the caller's current access (<see cref="LiveMailAccess"/>).
/// </summary>
public sealed class MessageWaiter : IDisposable
{
    /// <summary>Messages this recent may not be in the full-text index yet: they are matched in memory.</summary>
    public static readonly TimeSpan IndexLagWindow = TimeSpan.FromSeconds(10);
    private const int MaxRecentCandidates = 500;

    private readonly AccessRules _access;
    private readonly LiveMailAccess _live;
    private readonly IDbContextFactory<MailtestDbContext> _dbFactory;
    private readonly TimeProvider _clock;
    private readonly ILogger<MessageWaiter> _logger;
    private readonly IDisposable _subscription;
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, List<PendingWait>> _waiting = [];

    public MessageWaiter(AccessRules access, LiveMailAccess live, MessageEvents events, IDbContextFactory<MailtestDbContext> dbFactory,
        TimeProvider clock, ILogger<MessageWaiter> logger)
    {
        _access = access;
        _live = live;
        _dbFactory = dbFactory;
        _clock = clock;
        _logger = logger;
        _subscription = events.SubscribeToAll((e, _) => OnEventAsync(e));
    }

    /// <summary>Waiters currently hanging (for tests and diagnostics).</summary>
    public int Waiting
    {
        get { lock (_gate) return _waiting.Values.Sum(list => list.Count); }
    }

    /// <summary>
    /// The matching message, as soon as one is stored (or at once when one was stored after
    /// <paramref name="sinceUtc"/>); null when <paramref name="timeout"/> passes first.
    /// </summary>
    public async Task<MessageListItem?> WaitAsync(Caller caller, Guid environmentId, string? search, DateTime? sinceUtc, TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        await _access.RequireMailAsync(caller, environmentId, MailAccess.Read, cancellationToken);
        var pending = new PendingWait(caller, environmentId, SearchQuery.Parse(search));
        Register(pending);
        try
        {
            if (sinceUtc is { } since && await FindStoredAsync(environmentId, pending.Query, m => m.ReceivedUtc > since, cancellationToken) is { } stored)
            {
                await AnswerAsync(pending, stored, cancellationToken);
            }
            return await pending.Answer.Task.WaitAsync(timeout, _clock, cancellationToken);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            Unregister(pending);
        }
    }

    /// <summary>The newest message of <paramref name="among"/> that matches, from the index and from the recent window.</summary>
    private async Task<MessageListItem?> FindStoredAsync(Guid environmentId, SearchQuery query, Expression<Func<CapturedMessage, bool>> among, CancellationToken cancellationToken)
    {
        await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
        var recentFrom = _clock.GetUtcNow().UtcDateTime - IndexLagWindow;
        var recent = await Candidates(db, db.Messages.Where(m => m.EnvironmentId == environmentId && m.ReceivedUtc >= recentFrom).Where(among)
            .OrderByDescending(m => m.ReceivedUtc).ThenByDescending(m => m.Id).Take(MaxRecentCandidates)).ToListAsync(cancellationToken);
        if (recent.OrderByDescending(c => c.Item.ReceivedUtc).ThenByDescending(c => c.Item.Id).FirstOrDefault(c => query.Matches(c.Candidate)) is { } fresh)
            return fresh.Item;

        var older = await MessageSearchFilter.ApplyAsync(db, [environmentId], m => m.Where(among), query, cancellationToken);
        if (older is null) return null;
        return await older.OrderByDescending(m => m.ReceivedUtc).ThenByDescending(m => m.Id).Select(ToItem).FirstOrDefaultAsync(cancellationToken);
    }

    private async Task OnEventAsync(MessageEvent messageEvent)
    {
        PendingWait[] waiters;
        lock (_gate)
            waiters = _waiting.TryGetValue(messageEvent.EnvironmentId, out var list) ? [.. list.Where(w => MayNowMatch(w.Query, messageEvent))] : [];
        if (waiters.Length == 0) return;

        try
        {
            switch (messageEvent)
            {
                case MessagesTagged tagged:
                    await AnswerFromChangedAsync(waiters, tagged.EnvironmentId, tagged.MessageIds);
                    return;
                case MessagesMarkedRead all:
                    // No ids (it may be every message): the newest match among all, which is read now.
                    await AnswerFromChangedAsync(waiters, all.EnvironmentId, null);
                    return;
            }
            // One message stored, or marked read or unread: judged in memory, one read for all waiters.
            var messageId = messageEvent is MessageCaptured captured ? captured.MessageId : ((MessageReadChanged)messageEvent).MessageId;
            await using var db = await _dbFactory.CreateDbContextAsync();
            var found = await Candidates(db, db.Messages.Where(m => m.Id == messageId)).SingleOrDefaultAsync();
            if (found is null) return; // deleted already
            foreach (var waiter in waiters.Where(w => w.Query.Matches(found.Candidate)))
                await AnswerAsync(waiter, found.Item, CancellationToken.None);
        }
        catch (Exception error)
        {
            _logger.LogError(error, "Answering the waiters of environment {EnvironmentId} after {Event} failed.", messageEvent.EnvironmentId, messageEvent.GetType().Name);
        }
    }

    /// <summary>
    /// Whether the event can make a message match <paramref name="query"/> that did not: a new message can; a change of
    /// the read state or the tags only where the search looks at them (every term must hold), so a waiter for
    /// <c>subject:invoice</c> is not answered by an old invoice someone reads or tags.
    /// </summary>
    private static bool MayNowMatch(SearchQuery query, MessageEvent messageEvent) => messageEvent switch
    {
        MessageCaptured => true,
        MessageReadChanged or MessagesMarkedRead => query.Terms.Any(t => t is FlagTerm { Flag: SearchFlag.Read or SearchFlag.Unread }),
        MessagesTagged => query.Terms.Any(t => t is TagTerm),
        _ => false,
    };

    /// <summary>
    /// Each waiter is answered with the newest of the changed messages (<paramref name="messageIds"/>; null: every
    /// message of the environment) that now matches its search, looked up in bounded steps: a rename may touch every message.
    /// </summary>
    private async Task AnswerFromChangedAsync(PendingWait[] waiters, Guid environmentId, IReadOnlyList<Guid>? messageIds)
    {
        foreach (var waiter in waiters)
        {
            MessageListItem? newest = null;
            if (messageIds is null)
                newest = await FindStoredAsync(environmentId, waiter.Query, m => true, CancellationToken.None);
            else
                foreach (var step in messageIds.Chunk(MaxRecentCandidates))
                {
                    if (waiter.Answer.Task.IsCompleted) break;
                    var match = await FindStoredAsync(environmentId, waiter.Query, m => step.Contains(m.Id), CancellationToken.None);
                    if (match is not null && (newest is null || (match.ReceivedUtc, match.Id).CompareTo((newest.ReceivedUtc, newest.Id)) > 0)) newest = match;
                }
            if (newest is not null) await AnswerAsync(waiter, newest, CancellationToken.None);
        }
    }

    /// <summary>Answers with the message if the caller may still read the environment; else with a refusal.</summary>
    private async Task AnswerAsync(PendingWait waiter, MessageListItem message, CancellationToken cancellationToken)
    {
        if (waiter.Answer.Task.IsCompleted) return;
        if (await _live.MayReadAsync(waiter.Caller, waiter.EnvironmentId, cancellationToken))
            waiter.Answer.TrySetResult(message);
        else
            waiter.Answer.TrySetException(new AccessDeniedException("You may no longer read this environment's mail."));
    }

    private sealed record Found(MessageListItem Item, SearchCandidate Candidate);

    private static readonly System.Linq.Expressions.Expression<Func<CapturedMessage, MessageListItem>> ToItem = m =>
        new MessageListItem(m.Id, m.EnvironmentId, m.ReceivedUtc, m.EnvelopeFrom, m.EnvelopeTo, m.From, m.To, m.Subject, m.AttachmentCount, m.IsRead, m.Size, m.Tags);

    private static IQueryable<Found> Candidates(MailtestDbContext db, IQueryable<CapturedMessage> messages) =>
        from m in messages.AsNoTracking()
        join e in db.MessageSearchEntries on m.Id equals e.MessageId into entries
        from e in entries.DefaultIfEmpty()
        select new Found(
            new MessageListItem(m.Id, m.EnvironmentId, m.ReceivedUtc, m.EnvelopeFrom, m.EnvelopeTo, m.From, m.To, m.Subject, m.AttachmentCount, m.IsRead, m.Size, m.Tags),
            new SearchCandidate(m.EnvelopeFrom, m.EnvelopeTo, m.From, m.To, m.Cc, m.Subject, m.IsRead, m.AttachmentCount, m.ReceivedUtc, e == null ? "" : e.Text, m.Tags));

    private void Register(PendingWait pending)
    {
        lock (_gate)
        {
            if (!_waiting.TryGetValue(pending.EnvironmentId, out var list)) _waiting[pending.EnvironmentId] = list = [];
            list.Add(pending);
        }
    }

    private void Unregister(PendingWait pending)
    {
        lock (_gate)
        {
            if (!_waiting.TryGetValue(pending.EnvironmentId, out var list)) return;
            list.Remove(pending);
            if (list.Count == 0) _waiting.Remove(pending.EnvironmentId);
        }
    }

    public void Dispose() => _subscription.Dispose();

    private sealed class PendingWait(Caller caller, Guid environmentId, SearchQuery query)
    {
        public Caller Caller { get; } = caller;
        public Guid EnvironmentId { get; } = environmentId;
        public SearchQuery Query { get; } = query;
        public TaskCompletionSource<MessageListItem> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
