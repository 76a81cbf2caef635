using System.Collections.Concurrent;
using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Core.Retention;

/// <summary>What one purge removed from one organization.</summary>
public sealed record OrganizationPurged(Guid OrganizationId, string Organization, long ByRetention, long ByCaps, long Bytes, UsageFigures Usage)
{
    public long Messages => ByRetention + ByCaps;
}

/// <summary>What one purge run removed, per organization (only those it removed something from).</summary>
public sealed record PurgeReport(DateTime StartedUtc, DateTime FinishedUtc, IReadOnlyList<OrganizationPurged> Organizations)
{
    public long Messages => Organizations.Sum(o => o.Messages);
    public long Bytes => Organizations.Sum(o => o.Bytes);
}

/// <summary>
/// Per organization: deletes every message older than the retention window that applies (the plan's,
/// or the old plan's during a downgrade grace; disabled environments included), then, when the
/// organization is at its message or storage cap, the oldest messages across all its environments
/// until it is under both caps with headroom. One audit entry per organization per run.
/// </summary>
public sealed class RetentionPurge(
    IDbContextFactory<MailtestDbContext> dbFactory,
    MessageDeletion deletion,
    PlanGrace grace,
    AuditLog audit,
    DatabaseSpace space,
    TimeProvider clock,
    IOptions<RetentionOptions> options,
    ILogger<RetentionPurge> logger)
{
    public const string SystemActor = "system";

    /// <summary>One purge per organization at a time in this process: two cap purges must not both trim to the headroom.</summary>
    private readonly ConcurrentDictionary<Guid, SemaphoreSlim> _organizationLocks = new();

    /// <summary>A purge run on demand by a platform administrator (API, dashboard).</summary>
    public Task<PurgeReport> RunAsync(Caller caller, Guid? organizationId, CancellationToken cancellationToken = default) =>
        caller.IsPlatformAdmin
            ? RunAsync(organizationId, caller.Email, cancellationToken)
            : throw new AccessDeniedException("Only platform administrators can run the retention purge.");

    /// <summary>Purges every organization, or the one named; <paramref name="actor"/> is written to the audit log.</summary>
    /// <exception cref="NotFoundException">There is no organization <paramref name="organizationId"/>.</exception>
    public async Task<PurgeReport> RunAsync(Guid? organizationId, string actor, CancellationToken cancellationToken = default)
    {
        var started = Now;
        List<Organization> organizations;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var query = db.Organizations.AsNoTracking();
            if (organizationId is { } id) query = query.Where(o => o.Id == id);
            organizations = await query.OrderBy(o => o.Id).ToListAsync(cancellationToken);
        }
        if (organizationId is not null && organizations.Count == 0)
            throw new NotFoundException("There is no such organization.");

        var purged = new List<OrganizationPurged>();
        foreach (var organization in organizations)
        {
            try
            {
                if (await PurgeAsync(organization, actor, trimToHeadroom: false, cancellationToken) is { Messages: > 0 } result)
                    purged.Add(result);
            }
            catch (Exception e) when (e is not OperationCanceledException && organizationId is null)
            {
                // One organization's failure must not stop the others' purge.
                logger.LogError(e, "Purging organization {OrganizationId} failed.", organization.Id);
            }
        }
        if (purged.Count > 0) await space.ReclaimAsync(cancellationToken);
        return new PurgeReport(started, Now, purged);
    }

    /// <summary>
    /// The purge SMTP asks for when an organization reached a cap: retention as usual, and the caps
    /// trimmed to the headroom even when the organization is just under them (the message that was
    /// refused would not fit), and at least <paramref name="roomForBytes"/> free below the storage cap.
    /// </summary>
    public async Task<OrganizationPurged?> PurgeAtCapAsync(Guid organizationId, long roomForBytes = 0, CancellationToken cancellationToken = default)
    {
        Organization? organization;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            organization = await db.Organizations.AsNoTracking().SingleOrDefaultAsync(o => o.Id == organizationId, cancellationToken);
        if (organization is null) return null;
        var result = await PurgeAsync(organization, SystemActor, trimToHeadroom: true, cancellationToken, roomForBytes);
        if (result.Messages > 0) await space.ReclaimAsync(cancellationToken);
        return result;
    }

    private async Task<OrganizationPurged> PurgeAsync(Organization organization, string actor, bool trimToHeadroom, CancellationToken cancellationToken, long roomForBytes = 0)
    {
        var gate = _organizationLocks.GetOrAdd(organization.Id, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            var limits = grace.For(organization, Now);
            var batchSize = options.Value.BatchSize;
            var cutoff = PlanGrace.RetentionCutoff(limits, Now);
            var byRetention = await deletion.DeleteInBatchesAsync((db, ct) => db.Messages
                .Where(m => m.OrganizationId == organization.Id && m.ReceivedUtc < cutoff)
                .OrderBy(m => m.ReceivedUtc).ThenBy(m => m.Id)
                .Select(m => m.Id).Take(batchSize).ToListAsync(ct), cancellationToken);

            var byCaps = DeletedMessages.None;
            var usage = await ExactUsageAsync(organization.Id, cancellationToken);
            if (trimToHeadroom || usage.MessageCount >= limits.Applied.MessageCap || usage.Bytes >= limits.Applied.StorageCapBytes)
            {
                var headroom = options.Value.CapHeadroomPercent / 100.0;
                var targetCount = (long)Math.Floor(limits.Applied.MessageCap * headroom);
                var targetBytes = Math.Min((long)Math.Floor(limits.Applied.StorageCapBytes * headroom), limits.Applied.StorageCapBytes - roomForBytes);
                byCaps = await deletion.DeleteInBatchesAsync((db, ct) => OldestOverCapsAsync(db, organization.Id, targetCount, targetBytes, batchSize, ct), cancellationToken);
                usage = await ExactUsageAsync(organization.Id, cancellationToken);
            }

            var result = new OrganizationPurged(organization.Id, organization.Name, byRetention.Messages, byCaps.Messages, byRetention.Bytes + byCaps.Bytes, usage);
            if (result.Messages > 0)
            {
                var graceNote = limits.InGrace ? $" (grace: {limits.GracePlan} limits until {limits.GraceEndsUtc:yyyy-MM-dd})" : "";
                await audit.RecordAsync(null, actor, AuditActions.RetentionPurge, organization.Id, detail:
                    $"{result.Messages} messages deleted ({result.Bytes} bytes): {byRetention.Messages} older than {limits.Applied.RetentionDays} days, " +
                    $"{byCaps.Messages} over the caps of {limits.Applied.MessageCap} messages / {limits.Applied.StorageCapBytes} bytes{graceNote}",
                    cancellationToken: cancellationToken);
                logger.LogInformation("Purged {Count} messages ({Bytes} bytes) of organization {OrganizationId}.", result.Messages, result.Bytes, organization.Id);
            }
            return result;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The oldest messages to delete next so the organization gets down to both targets, counted
    /// afresh each batch (mail keeps arriving while a purge runs).
    /// </summary>
    private static async Task<List<Guid>> OldestOverCapsAsync(MailtestDbContext db, Guid organizationId, long targetCount, long targetBytes, int batchSize, CancellationToken cancellationToken)
    {
        var usage = await UsageAsync(db, organizationId, cancellationToken);
        var excessCount = usage.MessageCount - targetCount;
        var excessBytes = usage.Bytes - targetBytes;
        if (excessCount <= 0 && excessBytes <= 0) return [];
        var oldest = await db.Messages.AsNoTracking()
            .Where(m => m.OrganizationId == organizationId)
            .OrderBy(m => m.ReceivedUtc).ThenBy(m => m.Id)
            .Select(m => new { m.Id, m.Size })
            .Take(batchSize).ToListAsync(cancellationToken);
        var chosen = new List<Guid>();
        long bytes = 0;
        foreach (var message in oldest)
        {
            if (chosen.Count >= excessCount && bytes >= excessBytes) break;
            chosen.Add(message.Id);
            bytes += message.Size;
        }
        return chosen;
    }

    private async Task<UsageFigures> ExactUsageAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await UsageAsync(db, organizationId, cancellationToken);
    }

    private static async Task<UsageFigures> UsageAsync(MailtestDbContext db, Guid organizationId, CancellationToken cancellationToken)
    {
        var messages = db.Messages.Where(m => m.OrganizationId == organizationId);
        return new UsageFigures(await messages.LongCountAsync(cancellationToken), await messages.SumAsync(m => (long?)m.Size, cancellationToken) ?? 0);
    }

    private DateTime Now => clock.GetUtcNow().UtcDateTime;
}
