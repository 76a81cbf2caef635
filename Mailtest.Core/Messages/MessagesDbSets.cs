using Mailtest.Core.Messages;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Data;

public abstract partial class MailtestDbContext
{
    public DbSet<MessageSearchEntry> MessageSearchEntries => Set<MessageSearchEntry>();
}
