using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Mailtest.Core.Odoo;

/// <summary>
/// What <c>ir_mail_server</c> looked like before Mailtest changed it, and what Mailtest wrote, for
/// one environment: enough to restore it exactly and to tell a tampered table from an intact one.
/// </summary>
public sealed class OdooRoutingSnapshot
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid EnvironmentId { get; set; }
    public OdooRoutingApproach Approach { get; set; }
    public int OdooVersion { get; set; }
    /// <summary>The id of the row Mailtest inserted; always set for C, for D only when no row was active.</summary>
    public long? MarkerRowId { get; set; }
    /// <summary>The original rows (<see cref="MailServerRows"/> JSON), sealed: they hold Odoo's own SMTP passwords.</summary>
    public required byte[] SealedRows { get; set; }
    /// <summary>The SMTP login written into Odoo, to recognise our rows and to re-inject the marker after a
    /// neutralize. The password is sealed (Odoo itself keeps it in clear text in its own database).</summary>
    public required string SmtpUsername { get; set; }
    public required byte[] SealedSmtpPassword { get; set; }
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;
    public DateTime UpdatedUtc { get; set; } = DateTime.UtcNow;
}

internal sealed class OdooRoutingSnapshotConfiguration : IEntityTypeConfiguration<OdooRoutingSnapshot>
{
    public void Configure(EntityTypeBuilder<OdooRoutingSnapshot> b)
    {
        b.HasIndex(s => s.EnvironmentId).IsUnique();
        b.Property(s => s.SmtpUsername).HasMaxLength(64);
        b.Property(s => s.Approach).HasConversion<string>().HasMaxLength(1);
        b.HasOne<Mailtest.Core.Tenancy.ProjectEnvironment>().WithMany().HasForeignKey(s => s.EnvironmentId).OnDelete(DeleteBehavior.Cascade);
    }
}
