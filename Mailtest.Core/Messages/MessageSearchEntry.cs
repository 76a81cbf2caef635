using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Mailtest.Core.Messages;

/// <summary>
/// What the free-text search reads for one message: subject, sender, recipients and body text in one
/// column. Kept apart from <see cref="CapturedMessage"/> so summaries stay small. The full-text index
/// over <see cref="Text"/>: a PostgreSQL pg_trgm GIN index (SearchIndex migration), or a SQLite FTS5
/// trigram table (<see cref="MessageSearchIndexRow"/>, SearchIndexDeferred migration) that the ingest
/// writer fills right after each commit; a delete trigger removes entries. Rows are never updated.
/// </summary>
public sealed class MessageSearchEntry
{
    /// <summary>An integer key: the SQLite FTS5 table uses it as its rowid.</summary>
    public long Id { get; set; }
    public Guid MessageId { get; set; }
    public required string Text { get; set; }
}

/// <summary>
/// A row of the SQLite FTS5 table <c>MessageSearchIndex</c> (trigram tokenizer: substring and
/// case-insensitive matches). Created by hand in the SQLite SearchIndex migration, so it is excluded
/// from the generated ones; only queried on SQLite.
/// </summary>
public sealed class MessageSearchIndexRow
{
    public long RowId { get; set; }
    public required string Text { get; set; }
}

internal sealed class MessageSearchEntryConfiguration : IEntityTypeConfiguration<MessageSearchEntry>
{
    public void Configure(EntityTypeBuilder<MessageSearchEntry> b)
    {
        b.HasIndex(e => e.MessageId).IsUnique();
        b.HasOne<CapturedMessage>().WithOne().HasForeignKey<MessageSearchEntry>(e => e.MessageId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class MessageSearchIndexRowConfiguration : IEntityTypeConfiguration<MessageSearchIndexRow>
{
    public void Configure(EntityTypeBuilder<MessageSearchIndexRow> b)
    {
        b.ToTable("MessageSearchIndex", t => t.ExcludeFromMigrations());
        b.HasKey(r => r.RowId);
        b.Property(r => r.RowId).HasColumnName("rowid").ValueGeneratedNever();
    }
}
