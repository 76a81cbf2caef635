using Mailtest.Core.Capture;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Data;

public abstract partial class MailtestDbContext
{
    public DbSet<PlatformSetting> PlatformSettings => Set<PlatformSetting>();
    public DbSet<SmtpFaultSettings> SmtpFaultSettings => Set<SmtpFaultSettings>();
}
