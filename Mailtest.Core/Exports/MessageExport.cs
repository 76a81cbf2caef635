using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Mailtest.Core.Exports;

public enum ExportState
{
    Queued = 0,
    Running = 1,
    Ready = 2,
    Failed = 3,
    /// <summary>The download's 7 days are over and the file is deleted.</summary>
    Expired = 4,
}

/// <summary>"Download all as .zip": one environment's mail, or a whole organization's, written by a background job.</summary>
public sealed class MessageExport
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid OrganizationId { get; set; }
    /// <summary>Null: every environment of the organization the requester may read.</summary>
    public Guid? EnvironmentId { get; set; }
    public Guid RequestedByUserId { get; set; }
    public required string RequestedByEmail { get; set; }
    public DateTime RequestedUtc { get; set; }
    public ExportState State { get; set; }
    public int TotalMessages { get; set; }
    public int ExportedMessages { get; set; }
    public long SizeBytes { get; set; }
    public DateTime? CompletedUtc { get; set; }
    /// <summary>When the download link stops working and the file is deleted.</summary>
    public DateTime? ExpiresUtc { get; set; }
    public string? Error { get; set; }
}

internal sealed class MessageExportConfiguration : IEntityTypeConfiguration<MessageExport>
{
    public void Configure(EntityTypeBuilder<MessageExport> b)
    {
        b.ToTable("MessageExports");
        b.Property(e => e.RequestedByEmail).HasMaxLength(320);
        b.Property(e => e.Error).HasMaxLength(1000);
        b.HasIndex(e => new { e.RequestedByUserId, e.RequestedUtc });
        b.HasIndex(e => new { e.State, e.ExpiresUtc });
    }
}
