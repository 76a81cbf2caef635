using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Retention;

/// <summary>An organization's mail against its plan: what the usage API, the Mailtest tab and the grace banner show.</summary>
public sealed record PlanUsageReport(
    Guid OrganizationId, string Organization, Plan Plan,
    long Messages, long Bytes, int MessageCap, long StorageCapBytes, int RetentionDays,
    Plan? GracePlan, DateTime? GraceEndsUtc)
{
    public bool InGrace => GracePlan is not null;
    /// <summary>During a grace: the day the new plan's limits start deleting mail.</summary>
    public DateTime? DeletionStartsUtc => GraceEndsUtc;
}

/// <summary>Usage, caps and grace of an organization, for its members and platform administrators.</summary>
public sealed class PlanUsage(IDbContextFactory<MailtestDbContext> dbFactory, OrganizationUsage usage, PlanGrace grace, TimeProvider clock)
{
    /// <exception cref="NotFoundException">No such organization, or the caller is not a member of it.</exception>
    public async Task<PlanUsageReport> GetAsync(Caller caller, Guid organizationId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var organization = await db.Organizations.AsNoTracking()
            .Where(o => o.Id == organizationId && (caller.IsPlatformAdmin || db.Memberships.Any(m => m.OrganizationId == o.Id && m.UserId == caller.UserId)))
            .SingleOrDefaultAsync(cancellationToken)
            ?? throw new NotFoundException("There is no such organization, or you are not a member of it.");
        return await ReportAsync(organization, cancellationToken);
    }

    /// <summary>The organizations the caller belongs to that are in a downgrade grace (for the banner).</summary>
    public async Task<IReadOnlyList<PlanUsageReport>> GracesOfAsync(Caller caller, CancellationToken cancellationToken = default)
    {
        var since = clock.GetUtcNow().UtcDateTime - grace.GracePeriod;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var organizations = await db.Organizations.AsNoTracking()
            .Where(o => o.PreviousPlan != null && o.PlanChangedUtc > since && db.Memberships.Any(m => m.OrganizationId == o.Id && m.UserId == caller.UserId))
            .OrderBy(o => o.Name)
            .ToListAsync(cancellationToken);
        var reports = new List<PlanUsageReport>();
        foreach (var organization in organizations)
            reports.Add(await ReportAsync(organization, cancellationToken));
        return reports;
    }

    public OrganizationLimits LimitsOf(Organization organization) => grace.For(organization, clock.GetUtcNow().UtcDateTime);

    private async Task<PlanUsageReport> ReportAsync(Organization organization, CancellationToken cancellationToken)
    {
        var limits = LimitsOf(organization);
        var used = await usage.GetAsync(organization.Id, cancellationToken);
        return new PlanUsageReport(organization.Id, organization.Name, organization.Plan, used.MessageCount, used.Bytes,
            limits.Applied.MessageCap, limits.Applied.StorageCapBytes, limits.Applied.RetentionDays, limits.GracePlan, limits.GraceEndsUtc);
    }
}
