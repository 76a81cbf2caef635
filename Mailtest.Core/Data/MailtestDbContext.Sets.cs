using Mailtest.Core.Audit;
using Mailtest.Core.Capture;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Data;

public abstract partial class MailtestDbContext
{
    public DbSet<Organization> Organizations => Set<Organization>();
    public DbSet<Project> Projects => Set<Project>();
    public DbSet<ProjectEnvironment> Environments => Set<ProjectEnvironment>();
    public DbSet<UserAccount> Users => Set<UserAccount>();
    public DbSet<Membership> Memberships => Set<Membership>();
    public DbSet<SmtpCredential> SmtpCredentials => Set<SmtpCredential>();
    public DbSet<CapturedMessage> Messages => Set<CapturedMessage>();
    public DbSet<MessageContent> MessageContents => Set<MessageContent>();
    public DbSet<MessageAttachment> MessageAttachments => Set<MessageAttachment>();
    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();
}
