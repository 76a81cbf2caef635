namespace Mailtest.Core.Odoo;

/// <summary>How Mailtest talks to environments' Odoo databases. Bound from <c>Mailtest:Odoo</c>.</summary>
public sealed class OdooOptions
{
    public const string Section = "Mailtest:Odoo";

    /// <summary>How long a change waits for Odoo's own transactions to release <c>ir_mail_server</c> before giving up.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(3);
    /// <summary>Connect timeout for an Odoo database: an unreachable one must fail fast, AUTH waits on it.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(15);
    /// <summary>How long an AUTH-time tamper check result is reused for the same environment.</summary>
    public TimeSpan TamperCheckCacheDuration { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>How often every enabled environment with an Odoo connection is checked.</summary>
    public TimeSpan TamperSweepInterval { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>Name of the row Mailtest inserts into <c>ir_mail_server</c>.</summary>
    public string MarkerName { get; set; } = "Mailtest capture (do not edit)";
}
