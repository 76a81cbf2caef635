using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Mailtest.Core.Messages;

/// <summary>
/// What the free-text search reads for one message: subject, sender, recipients and body text in one
/// column. Kept apart from <see cref="CapturedMessage"/> so summaries stay small. The full-text index
/// over <see cref="Text"/>: a PostgreSQL pg_trgm GIN index (SearchIndex migration), or on SQLite the
/// FTS5 table <c>MessageSearchIndex</c> of each entry's distinct in-word trigrams (<see cref="SearchTrigrams"/>)
/// in a file of its own (<see cref="SearchIndexFile"/>), which the ingest writer's index loop fills after
/// the commits; a delete trigger logs deleted entries for it (SearchIndexInOwnFile migration). Rows are never updated.
/// </summary>
public sealed class MessageSearchEntry
{
    /// <summary>An integer key, never reused (AUTOINCREMENT): the SQLite FTS5 table uses it as its rowid.</summary>
    public long Id { get; set; }
    public Guid MessageId { get; set; }
    public required string Text { get; set; }
}

internal sealed class MessageSearchEntryConfiguration : IEntityTypeConfiguration<MessageSearchEntry>
{
    public void Configure(EntityTypeBuilder<MessageSearchEntry> b)
    {
        b.HasIndex(e => e.MessageId).IsUnique();
        b.HasOne<CapturedMessage>().WithOne().HasForeignKey<MessageSearchEntry>(e => e.MessageId).OnDelete(DeleteBehavior.Cascade);
    }

    /// <summary>
    /// PostgreSQL only: the message's environment, copied onto its search entry (a shadow property,
    /// <see cref="EnvironmentId"/>) so that the trigram index is asked within the environments searched:
    /// one GIN index over (EnvironmentId, Text) through btree_gin (SearchEntryEnvironment migration).
    /// A word found in thousands of messages elsewhere then costs nothing here. SQLite's FTS5 table
    /// cannot hold it; its candidates are looked up in the environment by id instead.
    /// </summary>
    internal static void ConfigurePostgres(EntityTypeBuilder<MessageSearchEntry> b) => b.Property<Guid>(EnvironmentId);

    /// <summary>The name of the PostgreSQL-only shadow property (see <see cref="ConfigurePostgres"/>).</summary>
    internal const string EnvironmentId = "EnvironmentId";
}
