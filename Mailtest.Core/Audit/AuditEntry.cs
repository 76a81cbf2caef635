namespace Mailtest.Core.Audit;

/// <summary>Who did what, when, and from which address.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }
    public DateTime OccurredUtc { get; set; } = DateTime.UtcNow;
    public Guid? ActorUserId { get; set; }
    /// <summary>Email of the user, or "system" / "admin-cli" for unattended actions.</summary>
    public required string Actor { get; set; }
    /// <summary>A stable dotted name such as <c>mailtest.enable</c> or <c>signin.failed</c>.</summary>
    public required string Action { get; set; }
    public Guid? OrganizationId { get; set; }
    public Guid? EnvironmentId { get; set; }
    public string? Detail { get; set; }
    public string? RemoteAddress { get; set; }
}
