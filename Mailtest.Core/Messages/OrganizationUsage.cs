using System.Collections.Concurrent;
using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Messages;

/// <summary>How many messages and bytes an organization holds.</summary>
public readonly record struct UsageFigures(long MessageCount, long Bytes);

/// <summary>
/// Per-organization message count and stored bytes, so the quota check at MAIL FROM costs no query:
/// counted once from the database, then kept current by the ingest writer, and recounted after a
/// while (or at once after <see cref="Invalidate"/>: deletes, purges) so drift cannot last.
/// <para>
/// A count reads every message of the organization (~0.3 s warm, ~1 s cold at a million), so it runs once
/// at a time per organization, and a recount after <see cref="RecountAfter"/> runs in the background while
/// checks go on with the figures kept current meanwhile. Only a first count, or one after
/// <see cref="Invalidate"/>, is waited for: those figures must be exact.
/// </para>
/// </summary>
public sealed class OrganizationUsage(IDbContextFactory<MailtestDbContext> dbFactory, TimeProvider clock, ILogger<OrganizationUsage> logger)
{
    private static readonly TimeSpan RecountAfter = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<Guid, Counter> _counters = new();
    /// <summary>The count running for an organization, by its invalidation generation: a count begun before an
    /// <see cref="Invalidate"/> is not joined by a check after it, and does not keep its (older) figures.</summary>
    private readonly ConcurrentDictionary<(Guid OrganizationId, long Generation), Task<UsageFigures>> _counting = new();
    private readonly ConcurrentDictionary<Guid, long> _generations = new();

    public async ValueTask<UsageFigures> GetAsync(Guid organizationId, CancellationToken cancellationToken = default)
    {
        if (_counters.TryGetValue(organizationId, out var counter))
        {
            if (IsStale(counter)) _ = CountAsync(organizationId, unlessFresh: true);
            return counter.Figures;
        }
        return await CountAsync(organizationId).WaitAsync(cancellationToken);
    }

    private bool IsStale(Counter counter) => clock.GetUtcNow() - counter.CountedAt >= RecountAfter;

    /// <summary>Called after a commit that stored a message.</summary>
    public void Added(Guid organizationId, long bytes)
    {
        while (_counters.TryGetValue(organizationId, out var counter))
        {
            var updated = counter with { Figures = new UsageFigures(counter.Figures.MessageCount + 1, counter.Figures.Bytes + bytes) };
            if (_counters.TryUpdate(organizationId, updated, counter)) return;
        }
    }

    /// <summary>Messages were removed (delete, purge): count again on the next check.</summary>
    public void Invalidate(Guid organizationId)
    {
        _generations.AddOrUpdate(organizationId, 1, (_, generation) => generation + 1);
        _counters.TryRemove(organizationId, out _);
    }

    /// <summary>
    /// The running count of the organization's current generation, or a new one. With <paramref name="unlessFresh"/>
    /// (a recount of figures the caller found stale), none when fresh figures are kept by now: a recount that finished
    /// after the caller read them stored its figures before it unregistered, so they are seen here.
    /// </summary>
    private Task<UsageFigures> CountAsync(Guid organizationId, bool unlessFresh = false)
    {
        var key = (organizationId, _generations.GetValueOrDefault(organizationId));
        if (_counting.TryGetValue(key, out var counting)) return counting; // every check while a recount runs comes here
        if (unlessFresh && _counters.TryGetValue(organizationId, out var kept) && !IsStale(kept)) return Task.FromResult(kept.Figures);
        var mine = new TaskCompletionSource<UsageFigures>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = _counting.GetOrAdd(key, mine.Task);
        if (running == mine.Task) _ = RunCountAsync(key, mine);
        return running;
    }

    private async Task RunCountAsync((Guid OrganizationId, long Generation) key, TaskCompletionSource<UsageFigures> done)
    {
        UsageFigures figures = default;
        Exception? failure = null;
        try
        {
            // Its own cancellation: callers may stop waiting, the count serves the others.
            await using var db = await dbFactory.CreateDbContextAsync();
            var messages = db.Messages.Where(m => m.OrganizationId == key.OrganizationId);
            figures = new UsageFigures(await messages.LongCountAsync(), await messages.SumAsync(m => (long?)m.Size) ?? 0);
            if (_generations.GetValueOrDefault(key.OrganizationId) == key.Generation)
                _counters[key.OrganizationId] = new Counter(figures, clock.GetUtcNow()); // before unregistering (CountAsync's unlessFresh)
        }
        catch (Exception error)
        {
            // A background recount's failure leaves the kept figures in use; a waited-for count reports it to its callers.
            logger.LogWarning(error, "Could not count the messages of organization {OrganizationId}.", key.OrganizationId);
            failure = error;
        }
        // Unregistered before it completes: a check that comes after it must not be handed this finished count.
        _counting.TryRemove(KeyValuePair.Create(key, done.Task));
        if (failure is null) done.SetResult(figures);
        else
        {
            done.SetException(failure);
            _ = done.Task.Exception; // observed: a background recount has no caller
        }
    }

    private sealed record Counter(UsageFigures Figures, DateTimeOffset CountedAt);
}
