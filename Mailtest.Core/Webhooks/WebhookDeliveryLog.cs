using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Webhooks;

/// <summary>A retry the log promises: the attempt after <see cref="Attempt"/>, due at <see cref="DueUtc"/>.</summary>
/// <param name="FirstAttemptUtc">When the delivery's first attempt was made: <c>RetryFor</c> counts from it.</param>
public sealed record PromisedWebhookRetry(long EntryId, Guid EnvironmentId, Guid DeliveryId, Guid MessageId, int Attempt, DateTime FirstAttemptUtc, DateTime DueUtc);

/// <summary>A captured message of an environment with a webhook that no attempt was logged for.</summary>
public sealed record UnattemptedWebhookMessage(Guid EnvironmentId, Guid MessageId);

/// <summary>
/// The webhook delivery log: every attempt (the environment page shows the last <see cref="LogSize"/>), and
/// the retries it promises (<see cref="WebhookDelivery.NextAttemptUtc"/>), which outlive the process. Several
/// nodes may share the database: each promised attempt is made by the one node that claims it. No caller
/// here: the dispatcher works for ingest; people read the log through <see cref="WebhookSettings"/>.
/// </summary>
public sealed class WebhookDeliveryLog(IDbContextFactory<MailtestDbContext> dbFactory)
{
    /// <summary>The log keeps this many attempts per environment, and every attempt a pending retry still needs.</summary>
    public const int LogSize = 50;

    /// <summary>
    /// Adds an attempt (its <see cref="WebhookDelivery.Id"/> is set). When it is the retry an earlier attempt
    /// promised (<paramref name="keptPromise"/>), that promise is cleared in the same transaction, so the log
    /// never holds two promises for one delivery.
    /// </summary>
    public async Task RecordAsync(WebhookDelivery attempt, long? keptPromise = null, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            if (keptPromise is { } promise)
                await db.WebhookDeliveries.Where(d => d.Id == promise)
                    .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptUtc, (DateTime?)null), cancellationToken);
            db.WebhookDeliveries.Add(attempt);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        var oldestKept = await db.WebhookDeliveries.Where(d => d.EnvironmentId == attempt.EnvironmentId)
            .OrderByDescending(d => d.Id).Skip(LogSize - 1).Select(d => (long?)d.Id).FirstOrDefaultAsync(cancellationToken);
        if (oldestKept is not { } keep) return;
        // A promise is kept however old, and so is its delivery's first attempt: the retry window counts from it.
        await db.WebhookDeliveries
            .Where(d => d.EnvironmentId == attempt.EnvironmentId && d.Id < keep && d.NextAttemptUtc == null
                        && !(d.Attempt == 1 && db.WebhookDeliveries.Any(p => p.DeliveryId == d.DeliveryId && p.NextAttemptUtc != null)))
            .ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>
    /// The retries the log promises, soonest first: every one, due or not (what a starting dispatcher resumes), or those
    /// due by <paramref name="dueByUtc"/> (what a running one sweeps up: promised by a node that stopped, or a claim that lapsed).
    /// </summary>
    public async Task<IReadOnlyList<PromisedWebhookRetry>> ListPromisedRetriesAsync(DateTime? dueByUtc = null, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.WebhookDeliveries.AsNoTracking()
            .Where(d => d.NextAttemptUtc != null && d.MessageId != null && (dueByUtc == null || d.NextAttemptUtc <= dueByUtc))
            .OrderBy(d => d.NextAttemptUtc)
            .Select(d => new PromisedWebhookRetry(d.Id, d.EnvironmentId, d.DeliveryId, d.MessageId!.Value, d.Attempt,
                db.WebhookDeliveries.Where(o => o.DeliveryId == d.DeliveryId).Min(o => o.AttemptedUtc), d.NextAttemptUtc!.Value))
            .ToListAsync(cancellationToken);
    }

    /// <summary>
    /// Takes the retry promised at <paramref name="dueUtc"/> by entry <paramref name="entryId"/>, for this node only:
    /// false when another node took it first (or it was kept or withdrawn). The claim moves the promise to
    /// <paramref name="heldUntilUtc"/>: if this node stops before logging its attempt, whoever knows of the
    /// promise takes it after that.
    /// </summary>
    public async Task<bool> ClaimAsync(long entryId, DateTime dueUtc, DateTime heldUntilUtc, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        // A claim moves the promise later than its due time, so "still at most due" means nobody holds it.
        return await db.WebhookDeliveries.Where(d => d.Id == entryId && d.NextAttemptUtc != null && d.NextAttemptUtc <= dueUtc)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptUtc, (DateTime?)heldUntilUtc), cancellationToken) == 1;
    }

    /// <summary>Withdraws a claimed promise that will not be kept; the entry's outcome says why.</summary>
    public async Task GiveUpAsync(long entryId, string reason, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var entry = await db.WebhookDeliveries.SingleOrDefaultAsync(d => d.Id == entryId, cancellationToken);
        if (entry is null) return; // the environment was deleted with its log
        var outcome = $"{entry.Outcome}; then gave up: {reason}";
        entry.Outcome = outcome.Length > 300 ? outcome[..300] : outcome;
        entry.NextAttemptUtc = null;
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>
    /// Messages captured in environments with a webhook between <paramref name="sinceUtc"/> and
    /// <paramref name="beforeUtc"/> that no attempt was logged for, oldest first, at most <paramref name="max"/>:
    /// the notifications a stopped process still had queued. Not before the webhook was last set, and not
    /// before the oldest attempt the log still keeps (an older message's attempt may have been trimmed away).
    /// </summary>
    public async Task<IReadOnlyList<UnattemptedWebhookMessage>> ListUnattemptedAsync(DateTime sinceUtc, DateTime beforeUtc, int max, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var webhooks = await db.EnvironmentWebhooks.AsNoTracking().Select(w => new { w.EnvironmentId, w.UpdatedUtc }).ToListAsync(cancellationToken);
        var found = new List<UnattemptedWebhookMessage>();
        foreach (var webhook in webhooks)
        {
            var environmentId = webhook.EnvironmentId;
            var oldestKept = await db.WebhookDeliveries.Where(d => d.EnvironmentId == environmentId)
                .OrderByDescending(d => d.Id).Skip(LogSize - 1).Select(d => (DateTime?)d.AttemptedUtc).FirstOrDefaultAsync(cancellationToken);
            var from = new[] { sinceUtc, webhook.UpdatedUtc, oldestKept ?? DateTime.MinValue }.Max();
            var messageIds = await db.Messages.AsNoTracking()
                .Where(m => m.EnvironmentId == environmentId && m.ReceivedUtc > from && m.ReceivedUtc < beforeUtc
                            && !db.WebhookDeliveries.Any(d => d.EnvironmentId == environmentId && d.MessageId == m.Id))
                .OrderBy(m => m.ReceivedUtc).Select(m => m.Id).Take(max - found.Count).ToListAsync(cancellationToken);
            found.AddRange(messageIds.Select(id => new UnattemptedWebhookMessage(environmentId, id)));
            if (found.Count >= max) break;
        }
        return found;
    }
}
