using Mailtest.Core.Audit;
using Mailtest.Core.Capture;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Mailtest.Core.Data;

internal sealed class OrganizationConfiguration : IEntityTypeConfiguration<Organization>
{
    public void Configure(EntityTypeBuilder<Organization> b)
    {
        b.Property(o => o.Name).HasMaxLength(200);
        b.Property(o => o.Slug).HasMaxLength(6);
        b.HasIndex(o => o.Slug).IsUnique();
    }
}

internal sealed class ProjectConfiguration : IEntityTypeConfiguration<Project>
{
    public void Configure(EntityTypeBuilder<Project> b)
    {
        b.Property(p => p.Name).HasMaxLength(200);
        b.HasOne(p => p.Organization).WithMany().HasForeignKey(p => p.OrganizationId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ProjectEnvironmentConfiguration : IEntityTypeConfiguration<ProjectEnvironment>
{
    public void Configure(EntityTypeBuilder<ProjectEnvironment> b)
    {
        b.ToTable("Environments");
        b.Property(e => e.Name).HasMaxLength(200);
        b.Property(e => e.Slug).HasMaxLength(6);
        b.HasIndex(e => e.Slug).IsUnique();
        b.HasOne(e => e.Project).WithMany().HasForeignKey(e => e.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class UserAccountConfiguration : IEntityTypeConfiguration<UserAccount>
{
    public void Configure(EntityTypeBuilder<UserAccount> b)
    {
        b.ToTable("Users");
        b.Property(u => u.Email).HasMaxLength(320);
        b.HasIndex(u => u.Email).IsUnique();
        b.Property(u => u.SecurityStamp).HasMaxLength(64);
    }
}

internal sealed class MembershipConfiguration : IEntityTypeConfiguration<Membership>
{
    public void Configure(EntityTypeBuilder<Membership> b)
    {
        b.HasKey(m => new { m.OrganizationId, m.UserId });
        b.HasOne(m => m.Organization).WithMany().HasForeignKey(m => m.OrganizationId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne(m => m.User).WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class SmtpCredentialConfiguration : IEntityTypeConfiguration<SmtpCredential>
{
    public void Configure(EntityTypeBuilder<SmtpCredential> b)
    {
        b.Property(c => c.Username).HasMaxLength(64);
        b.HasIndex(c => c.Username);
        b.HasIndex(c => c.EnvironmentId);
    }
}

internal sealed class CapturedMessageConfiguration : IEntityTypeConfiguration<CapturedMessage>
{
    public void Configure(EntityTypeBuilder<CapturedMessage> b)
    {
        b.ToTable("Messages");
        // Keyset pagination, newest first, per environment; and the organization-wide purge.
        b.HasIndex(m => new { m.EnvironmentId, m.ReceivedUtc, m.Id });
        b.HasIndex(m => new { m.OrganizationId, m.ReceivedUtc });
        b.HasMany(m => m.Attachments).WithOne().HasForeignKey(a => a.MessageId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class MessageContentConfiguration : IEntityTypeConfiguration<MessageContent>
{
    public void Configure(EntityTypeBuilder<MessageContent> b)
    {
        b.HasKey(c => c.MessageId);
        b.HasOne<CapturedMessage>().WithOne().HasForeignKey<MessageContent>(c => c.MessageId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> b)
    {
        b.HasIndex(a => a.OccurredUtc);
        b.HasIndex(a => new { a.OrganizationId, a.OccurredUtc });
    }
}
