namespace Mailtest.Core.Tenancy;

public sealed class Organization
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public required string Name { get; set; }
    public Plan Plan { get; set; }
    /// <summary>Six lowercase characters used in SMTP usernames (<c>org-xxxxxx-env-xxxxxx</c>).</summary>
    public required string Slug { get; set; }
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;
    /// <summary>Set when the plan was lowered: the shorter retention applies after a grace period.</summary>
    public Plan? PreviousPlan { get; set; }
    public DateTime? PlanChangedUtc { get; set; }
}

public sealed class Project
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid OrganizationId { get; set; }
    public Organization? Organization { get; set; }
    public required string Name { get; set; }
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;
}

public enum EnvironmentKind
{
    Development = 0,
    Staging = 1,
    Production = 2,
}

/// <summary>Where Mailtest stands on one environment.</summary>
public enum MailtestState
{
    Disabled = 0,
    Enabled = 1,
    /// <summary>The environment's Odoo routing no longer matches what Mailtest set; AUTH is refused until re-enabled.</summary>
    TamperDetected = 2,
}

/// <summary>A dev, staging or production deployment of a project (named so as not to clash with System.Environment).</summary>
public sealed class ProjectEnvironment
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid ProjectId { get; set; }
    public Project? Project { get; set; }
    public required string Name { get; set; }
    public EnvironmentKind Kind { get; set; }
    /// <summary>Six lowercase characters used in SMTP usernames (<c>org-xxxxxx-env-xxxxxx</c>).</summary>
    public required string Slug { get; set; }
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;

    /// <summary>Odoo major version (13–19) when the environment has an Odoo database connection.</summary>
    public int? OdooVersion { get; set; }
    /// <summary>The Odoo database connection string, encrypted with the data-protection key; never logged.</summary>
    public byte[]? OdooConnectionEncrypted { get; set; }

    public MailtestState MailtestState { get; set; }
    public bool IsRotating { get; set; }
    public DateTime? RotationStartedUtc { get; set; }
    public DateTime? MailtestEnabledUtc { get; set; }
    public DateTime? MailtestDisabledUtc { get; set; }
    public string? TamperReason { get; set; }
}
