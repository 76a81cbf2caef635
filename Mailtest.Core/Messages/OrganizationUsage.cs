using System.Collections.Concurrent;
using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Messages;

/// <summary>How many messages and bytes an organization holds.</summary>
public readonly record struct UsageFigures(long MessageCount, long Bytes);

/// <summary>
/// Per-organization message count and stored bytes, so the quota check at MAIL FROM costs no query:
/// counted once from the database, then kept current by the ingest writer, and recounted after a
/// while (or at once after <see cref="Invalidate"/>: deletes, purges) so drift cannot last.
/// </summary>
public sealed class OrganizationUsage(IDbContextFactory<MailtestDbContext> dbFactory, TimeProvider clock)
{
    private static readonly TimeSpan RecountAfter = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<Guid, Counter> _counters = new();

    public async ValueTask<UsageFigures> GetAsync(Guid organizationId, CancellationToken cancellationToken = default)
    {
        if (_counters.TryGetValue(organizationId, out var counter) && clock.GetUtcNow() - counter.CountedAt < RecountAfter)
            return counter.Figures;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var messages = db.Messages.Where(m => m.OrganizationId == organizationId);
        var count = await messages.LongCountAsync(cancellationToken);
        var bytes = await messages.SumAsync(m => (long?)m.Size, cancellationToken) ?? 0;
        var fresh = new Counter(new UsageFigures(count, bytes), clock.GetUtcNow());
        _counters[organizationId] = fresh;
        return fresh.Figures;
    }

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
    public void Invalidate(Guid organizationId) => _counters.TryRemove(organizationId, out _);

    private sealed record Counter(UsageFigures Figures, DateTimeOffset CountedAt);
}
