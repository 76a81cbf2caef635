using Mailtest.Tests.Infrastructure;
using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;
using Microsoft.Extensions.Options;

namespace Mailtest.Tests.Retention;

/// <summary>The grace rule alone: which limits apply when, and until when mail captured now is kept (the disable dialog's date).</summary>
[TestCategory(Needs.Unit)]
public sealed class PlanGraceTests
{
    private static readonly DateTime Changed = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
    private readonly PlanGrace _grace = new(Options.Create(new PlanOptions()), Options.Create(new RetentionOptions()));

    [Fact]
    public void During_the_grace_the_old_plans_retention_and_caps_apply_and_the_new_message_size_limit()
    {
        var limits = _grace.For(Plan.Starter, Plan.Pro, Changed, Changed.AddDays(3));

        Assert.Equal((90, 10_000, 1024L * 1024 * 1024), (limits.Applied.RetentionDays, limits.Applied.MessageCap, limits.Applied.StorageCapBytes));
        Assert.Equal(10L * 1024 * 1024, limits.Applied.MaxMessageBytes); // Starter's, at once
        Assert.Equal(Changed.AddDays(14), limits.GraceEndsUtc);
    }

    [Fact]
    public void After_the_grace_the_new_plan_applies_alone()
    {
        var limits = _grace.For(Plan.Starter, Plan.Pro, Changed, Changed.AddDays(14));

        Assert.False(limits.InGrace);
        Assert.Equal((30, 1_000), (limits.Applied.RetentionDays, limits.Applied.MessageCap));
    }

    [Theory]
    [InlineData(0, 30)]   // captured at the downgrade: Pro would keep it past the grace, so Starter's 30 days apply
    [InlineData(-70, 14)] // Pro would keep it until day 20, Starter only until day -40: kept until the grace ends
    [InlineData(-80, 10)] // Pro's 90 days end inside the grace, on day 10
    public void Mail_is_kept_under_the_old_window_inside_the_grace_and_never_less_than_until_the_grace_ends(int capturedOnDay, int purgedOnDay)
    {
        var limits = _grace.For(Plan.Starter, Plan.Pro, Changed, Changed.AddDays(1));

        Assert.Equal(Changed.AddDays(purgedOnDay), PlanGrace.PurgedAfter(limits, Changed.AddDays(capturedOnDay)));
    }

    [Fact]
    public void Lowering_any_limit_is_a_downgrade_and_raising_them_all_is_not()
    {
        var plans = new PlanOptions();
        Assert.True(PlanGrace.Lowers(plans.Pro, plans.Starter));
        Assert.False(PlanGrace.Lowers(plans.Starter, plans.Agency));
        Assert.True(PlanGrace.Lowers(plans.Pro, new PlanLimits { RetentionDays = 365, MessageCap = 100_000, StorageCapBytes = 1 }));
    }
}
