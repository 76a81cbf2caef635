using Mailtest.Core.Exports;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Data;

public abstract partial class MailtestDbContext
{
    public DbSet<MessageExport> MessageExports => Set<MessageExport>();
}
