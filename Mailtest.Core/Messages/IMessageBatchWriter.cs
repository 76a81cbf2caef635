namespace Mailtest.Core.Messages;

/// <summary>
/// The ingest hot path of one database provider, without EF Core: one transaction per batch of
/// messages, and the deferred full-text indexing that follows commits. Only <see cref="IngestWriter"/>
/// calls it: <see cref="WriteAsync"/> from its commit loop, <see cref="IndexPendingAsync"/> from its index
/// loop, each one call at a time but the two at the same time (state they share needs a lock, as does
/// <see cref="BeforeQueue"/>).
/// </summary>
internal interface IMessageBatchWriter : IAsyncDisposable
{
    /// <summary>
    /// Work on a message that can be done before it joins the writer's queue: called on the SMTP
    /// session's own thread, many at once, so it does not add to the single writer loop's time.
    /// </summary>
    PreparedMessage BeforeQueue(PreparedMessage message) => message;

    /// <summary>Writes the summaries, attachment index, sealed raw messages and search text of
    /// <paramref name="batch"/> in one durable transaction.</summary>
    Task WriteAsync(IReadOnlyList<PreparedMessage> batch);

    /// <summary>
    /// Adds committed search text that the full-text index does not hold yet, oldest first, and removes
    /// deleted messages from it, at most <paramref name="maxRows"/> rows of each in one transaction. What to
    /// do next is read from the database, so a restart after a crash picks up exactly where the last
    /// committed index transaction stopped. Nothing to do: a pass of zeros, and nothing written.
    /// </summary>
    Task<IndexPass> IndexPendingAsync(int maxRows);

    /// <summary>
    /// Opens, at start and before the application serves, what the index loop writes. SQLite: the index
    /// file's read-write connection, which keeps its WAL index (<c>-shm</c>) in existence; the app's
    /// connections attach the file read-only and cannot create it, so without it their opens fail
    /// ("unable to open database file") until the index loop's first step.
    /// </summary>
    void OpenIndex() { }

    /// <summary>Merges the full-text index into the shape searches read fastest (after a large catch-up); called from the index loop.</summary>
    Task OptimizeIndexAsync() => Task.CompletedTask;

    /// <summary>
    /// One small step of merging the full-text index's segments where a level holds several (SQLite: what
    /// FTS5's own merging under load leaves, see <see cref="SearchIndexFile"/>); false when nothing was
    /// left to merge. Called from the index loop while no mail comes, and after a purge (deleted rows' pages are freed by merging).
    /// </summary>
    Task<bool> MergeIndexStepAsync() => Task.FromResult(false);

    /// <summary>
    /// One step of giving the full-text index's free pages back to the file system (SQLite: the index file's
    /// incremental vacuum, see <see cref="SearchIndexFile"/>); false when none are left to give. Called from the
    /// index loop after a purge (<see cref="IngestWriter.GiveBackIndexSpaceAsync"/>).
    /// </summary>
    Task<bool> GiveBackIndexSpaceStepAsync() => Task.FromResult(false);
}

/// <summary>What one index transaction did: rows added to the full-text index, rows removed from it.</summary>
internal readonly record struct IndexPass(int Indexed, int Removed);
