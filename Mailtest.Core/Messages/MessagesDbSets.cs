using Mailtest.Core.Messages;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Data;

public abstract partial class MailtestDbContext
{
    public DbSet<MessageSearchEntry> MessageSearchEntries => Set<MessageSearchEntry>();
    /// <summary>SQLite only: the FTS5 trigram table over <see cref="MessageSearchEntries"/>.</summary>
    public DbSet<MessageSearchIndexRow> MessageSearchIndex => Set<MessageSearchIndexRow>();
}
