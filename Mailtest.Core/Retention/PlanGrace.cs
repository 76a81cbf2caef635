using Mailtest.Core.Tenancy;
using Microsoft.Extensions.Options;

namespace Mailtest.Core.Retention;

/// <summary>
/// The limits that apply to an organization right now. <paramref name="Applied"/> is what the purge
/// and the SMTP quota check enforce: the plan's own limits, or during a downgrade grace the old plan's
/// retention and caps (the new plan's message size limit and availability apply at once).
/// </summary>
public sealed record OrganizationLimits(Plan Plan, PlanLimits PlanLimits, PlanLimits Applied, Plan? GracePlan, DateTime? GraceEndsUtc)
{
    public bool InGrace => GracePlan is not null;
}

/// <summary>
/// The one rule for plan limits over time: which limits apply during and after a downgrade grace, what
/// counts as a downgrade, and when a message captured at a given time is purged by retention.
/// </summary>
public sealed class PlanGrace(IOptions<PlanOptions> plans, IOptions<RetentionOptions> options)
{
    public TimeSpan GracePeriod => TimeSpan.FromDays(options.Value.GraceDays);

    public PlanLimits LimitsOf(Plan plan) => plans.Value.For(plan);

    public OrganizationLimits For(Organization organization, DateTime nowUtc) =>
        For(organization.Plan, organization.PreviousPlan, organization.PlanChangedUtc, nowUtc);

    public OrganizationLimits For(Plan plan, Plan? previousPlan, DateTime? planChangedUtc, DateTime nowUtc)
    {
        var limits = plans.Value.For(plan);
        if (previousPlan is not { } old || planChangedUtc is not { } changed || changed + GracePeriod <= nowUtc)
            return new OrganizationLimits(plan, limits, limits, null, null);
        var oldLimits = plans.Value.For(old);
        var applied = new PlanLimits
        {
            MailtestAvailable = limits.MailtestAvailable,
            MaxMessageBytes = limits.MaxMessageBytes,
            RetentionDays = Math.Max(oldLimits.RetentionDays, limits.RetentionDays),
            MessageCap = Math.Max(oldLimits.MessageCap, limits.MessageCap),
            StorageCapBytes = Math.Max(oldLimits.StorageCapBytes, limits.StorageCapBytes),
        };
        return new OrganizationLimits(plan, limits, applied, old, changed + GracePeriod);
    }

    /// <summary>Does moving to <paramref name="to"/> lower the retention window or a cap below <paramref name="from"/>?</summary>
    public static bool Lowers(PlanLimits from, PlanLimits to) =>
        to.RetentionDays < from.RetentionDays || to.MessageCap < from.MessageCap || to.StorageCapBytes < from.StorageCapBytes;

    /// <summary>
    /// When retention deletes a message received at <paramref name="receivedUtc"/> under these limits:
    /// the old window while the grace lasts, never before the grace ends under the new one.
    /// </summary>
    public static DateTime PurgedAfter(OrganizationLimits limits, DateTime receivedUtc)
    {
        var underApplied = receivedUtc.AddDays(limits.Applied.RetentionDays);
        if (limits.GraceEndsUtc is not { } graceEnds) return underApplied;
        if (underApplied < graceEnds) return underApplied;
        var underPlan = receivedUtc.AddDays(limits.PlanLimits.RetentionDays);
        return underPlan > graceEnds ? underPlan : graceEnds;
    }

    /// <summary>The oldest receipt time retention keeps at <paramref name="nowUtc"/>.</summary>
    public static DateTime RetentionCutoff(OrganizationLimits limits, DateTime nowUtc) => nowUtc.AddDays(-limits.Applied.RetentionDays);
}
