namespace Mailtest.Core.Tenancy;

/// <summary>What one plan allows. Bound from <c>Mailtest:Plans:{Plan}</c>; defaults follow the spec's tables.</summary>
public sealed class PlanLimits
{
    public bool MailtestAvailable { get; set; }
    public int RetentionDays { get; set; }
    public int MessageCap { get; set; }
    public long StorageCapBytes { get; set; }
    public long MaxMessageBytes { get; set; }
}

public sealed class PlanOptions
{
    public const string Section = "Mailtest:Plans";

    public PlanLimits Free { get; set; } = new() { MailtestAvailable = false };
    public PlanLimits Starter { get; set; } = new()
    {
        MailtestAvailable = true, RetentionDays = 30, MessageCap = 1_000,
        StorageCapBytes = 100L * 1024 * 1024, MaxMessageBytes = 10L * 1024 * 1024,
    };
    public PlanLimits Pro { get; set; } = new()
    {
        MailtestAvailable = true, RetentionDays = 90, MessageCap = 10_000,
        StorageCapBytes = 1024L * 1024 * 1024, MaxMessageBytes = 25L * 1024 * 1024,
    };
    public PlanLimits Agency { get; set; } = new()
    {
        MailtestAvailable = true, RetentionDays = 365, MessageCap = 100_000,
        StorageCapBytes = 10L * 1024 * 1024 * 1024, MaxMessageBytes = 50L * 1024 * 1024,
    };

    public PlanLimits For(Plan plan) => plan switch
    {
        Plan.Free => Free,
        Plan.Starter => Starter,
        Plan.Pro => Pro,
        Plan.Agency => Agency,
        _ => throw new ArgumentOutOfRangeException(nameof(plan), plan, "Unknown plan."),
    };
}
