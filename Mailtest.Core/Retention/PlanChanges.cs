using Mailtest.Core.Audit;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Retention;

/// <summary>
/// Platform administrators change an organization's plan. A change that lowers the retention window
/// or a cap below what applies now starts the grace (<see cref="PlanGrace"/>): nothing is deleted by
/// the new limits until it ends. A change that lowers nothing (an upgrade) ends any grace at once.
/// </summary>
public sealed class PlanChanges(
    IDbContextFactory<MailtestDbContext> dbFactory,
    PlanGrace grace,
    AuditLog audit,
    SmtpCredentialCache credentials,
    TimeProvider clock)
{
    public async Task<OrganizationLimits> ChangeAsync(Caller caller, Guid organizationId, Plan plan, CancellationToken cancellationToken = default)
    {
        if (!caller.IsPlatformAdmin)
            throw new AccessDeniedException("Only platform administrators can change an organization's plan.");
        if (!Enum.IsDefined(plan))
            throw new TenancyException($"There is no plan {plan}; choose Free, Starter, Pro or Agency.");
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var organization = await db.Organizations.SingleOrDefaultAsync(o => o.Id == organizationId, cancellationToken)
            ?? throw new NotFoundException("There is no such organization.");
        var before = grace.For(organization, now);
        if (plan == organization.Plan) return before;

        var from = organization.Plan;
        if (PlanGrace.Lowers(before.Applied, grace.LimitsOf(plan)))
        {
            // Already in a grace: it keeps its end date (members were told when deletion starts).
            if (!before.InGrace)
            {
                organization.PreviousPlan = from;
                organization.PlanChangedUtc = now;
            }
        }
        else
        {
            organization.PreviousPlan = null;
            organization.PlanChangedUtc = now;
        }
        organization.Plan = plan;
        await db.SaveChangesAsync(cancellationToken);
        // AUTH and MAIL FROM read the plan from the credential cache.
        credentials.InvalidateAll();

        var after = grace.For(organization, now);
        var detail = after.InGrace
            ? $"{from} → {plan}; {after.GracePlan} limits apply until {after.GraceEndsUtc:yyyy-MM-dd HH:mm} UTC"
            : $"{from} → {plan}";
        await audit.RecordAsync(caller, AuditActions.PlanChange, organizationId, detail: detail, cancellationToken: cancellationToken);
        return after;
    }
}
