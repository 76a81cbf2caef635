using Mailtest.Tests.Infrastructure;
using Mailtest.Core.Capture;
using Mailtest.Core.Tenancy;

namespace Mailtest.Tests.Lifecycle;

/// <summary>The one rule set, as a table: which transition is refused, and whether as 403 (permission) or 409 (state).</summary>
[TestCategory(Needs.Unit)]
public sealed class MailtestLifecycleRulesTests
{
    private static MailtestFacts Facts(EnvironmentKind kind = EnvironmentKind.Staging, Plan plan = Plan.Starter, bool canManage = true,
        MailtestState state = MailtestState.Disabled, bool rotating = false) =>
        new(kind, plan, plan != Plan.Free, canManage, state, rotating);

    public static TheoryData<string, MailtestTransition, MailtestFacts, string?> Cases => new()
    {
        { "enable on staging", MailtestTransition.Enable, Facts(), null },
        { "enable on production", MailtestTransition.Enable, Facts(kind: EnvironmentKind.Production), "403" },
        { "enable on Free", MailtestTransition.Enable, Facts(plan: Plan.Free), "403" },
        { "enable without permission", MailtestTransition.Enable, Facts(canManage: false), "403" },
        { "enable twice", MailtestTransition.Enable, Facts(state: MailtestState.Enabled), "409" },
        { "re-enable after tamper", MailtestTransition.Enable, Facts(state: MailtestState.TamperDetected), null },
        { "rotate", MailtestTransition.Rotate, Facts(state: MailtestState.Enabled), null },
        { "rotate while disabled", MailtestTransition.Rotate, Facts(), "409" },
        { "rotate while rotating", MailtestTransition.Rotate, Facts(state: MailtestState.Enabled, rotating: true), "409" },
        { "rotate after tamper", MailtestTransition.Rotate, Facts(state: MailtestState.TamperDetected), "409" },
        { "retry a stuck rotation", MailtestTransition.RetryRotation, Facts(state: MailtestState.Enabled, rotating: true), null },
        { "retry with nothing stuck", MailtestTransition.RetryRotation, Facts(state: MailtestState.Enabled), "409" },
        { "abort a stuck rotation", MailtestTransition.AbortRotation, Facts(state: MailtestState.Enabled, rotating: true), null },
        { "abort without permission", MailtestTransition.AbortRotation, Facts(state: MailtestState.Enabled, rotating: true, canManage: false), "403" },
        { "disable", MailtestTransition.Disable, Facts(state: MailtestState.Enabled), null },
        { "disable after a downgrade to Free", MailtestTransition.Disable, Facts(plan: Plan.Free, state: MailtestState.Enabled), null },
        { "disable when disabled", MailtestTransition.Disable, Facts(), "409" },
        { "disable without permission", MailtestTransition.Disable, Facts(state: MailtestState.Enabled, canManage: false), "403" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_transition_is_allowed_or_refused_with_the_right_kind_of_answer(string situation, MailtestTransition transition, MailtestFacts facts, string? expected)
    {
        var refusal = MailtestLifecycleRules.Check(transition, facts);

        var actual = refusal is null ? null : refusal.IsPermission ? "403" : "409";
        Assert.True(expected == actual, $"{situation}: expected {expected ?? "allowed"}, got {actual ?? "allowed"} ({refusal?.Message})");
    }

    [Fact]
    public void The_production_refusal_uses_the_spec_wording()
    {
        var refusal = MailtestLifecycleRules.Check(MailtestTransition.Enable, Facts(kind: EnvironmentKind.Production));
        Assert.StartsWith("Mailtest cannot be enabled on production environments", refusal!.Message);
    }

    [Theory]
    [InlineData(MailtestState.Enabled, false, EnvironmentKind.Staging, "Enabled")]
    [InlineData(MailtestState.Enabled, true, EnvironmentKind.Staging, "Rotation in progress")]
    [InlineData(MailtestState.TamperDetected, false, EnvironmentKind.Staging, "Tamper detected")]
    [InlineData(MailtestState.Disabled, false, EnvironmentKind.Staging, "Disabled")]
    [InlineData(MailtestState.Disabled, false, EnvironmentKind.Production, "Not available (production)")]
    public void The_state_reads_the_same_on_every_screen(MailtestState state, bool rotating, EnvironmentKind kind, string expected) =>
        Assert.Equal(expected, MailtestStateText.Of(state, rotating, kind));

    [Fact]
    public void Availability_is_what_opening_capture_and_SMTP_AUTH_both_ask()
    {
        Assert.Null(MailtestLifecycleRules.Availability(EnvironmentKind.Staging, Plan.Starter, planIncludesMailtest: true));
        Assert.Equal(MailtestLifecycleRules.ProductionRefused,
            MailtestLifecycleRules.Availability(EnvironmentKind.Production, Plan.Pro, planIncludesMailtest: true)?.Message);
        Assert.Equal(MailtestLifecycleRules.PlanRefused(Plan.Free),
            MailtestLifecycleRules.Availability(EnvironmentKind.Development, Plan.Free, planIncludesMailtest: false)?.Message);
        // The transitions that open capture give the same answer.
        Assert.Equal(MailtestLifecycleRules.Availability(EnvironmentKind.Production, Plan.Pro, true),
            MailtestLifecycleRules.Check(MailtestTransition.Rotate, Facts(kind: EnvironmentKind.Production, plan: Plan.Pro, state: MailtestState.Enabled)));
    }
}
