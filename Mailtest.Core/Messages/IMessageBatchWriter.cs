namespace Mailtest.Core.Messages;

/// <summary>
/// The ingest hot path of one database provider, without EF Core: one transaction per batch of
/// messages, and the deferred full-text indexing that follows commits. Only <see cref="IngestWriter"/>
/// calls it, from its single loop, so implementations need no locking (except <see cref="BeforeQueue"/>).
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
    /// Adds committed search text that the full-text index does not hold yet, oldest first, at most
    /// <paramref name="maxRows"/> rows in one transaction. Returns the number of rows indexed (0: the
    /// index is current). What to index next is read from the database, so a restart after a crash
    /// picks up exactly where the last committed index transaction stopped.
    /// </summary>
    Task<int> IndexPendingAsync(int maxRows);
}
