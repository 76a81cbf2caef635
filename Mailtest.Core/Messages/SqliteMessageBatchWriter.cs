using System.Globalization;
using Mailtest.Core.Data;
using Microsoft.Data.Sqlite;

namespace Mailtest.Core.Messages;

/// <summary>
/// SQLite's ingest path: one long-lived connection whose PRAGMAs are set once, prepared INSERTs
/// re-bound for every message, one <c>BEGIN IMMEDIATE</c> transaction per batch. Values are written
/// the way EF Core's SQLite provider reads them back (Guid as upper-case text, DateTime as
/// <c>yyyy-MM-dd HH:mm:ss.FFFFFFF</c>, bool as 0/1).
/// <para>
/// The full-text index is in a file of its own (<see cref="SearchIndexFile"/>), written by
/// <see cref="IndexPendingAsync"/> on a second connection of its own, at the same time as commits on the
/// first: search entries with an id above the index file's <c>SearchIndexProgress.IndexedThroughId</c> are
/// committed but not indexed yet. The commit connection does not attach the index file, so its
/// <c>BEGIN IMMEDIATE</c> never waits for an index step. Deletions: a trigger in the main file cannot
/// reach another file, so deleting a search entry (by any path, cascades included) logs its id in
/// <c>SearchIndexDeletions</c> within the deleting transaction (SearchIndexFile migration), and the index
/// step removes those entries from the index and then clears what it applied. Entry ids are never reused
/// (AUTOINCREMENT), so an id in the index or the log always means the same message.
/// </para>
/// </summary>
internal sealed class SqliteMessageBatchWriter(string connectionString) : IMessageBatchWriter
{
    // Long-lived and not pooled: a pooled connection may come back with the index file attached, and then
    // a commit's BEGIN IMMEDIATE would take the index file's write lock too.
    private readonly string _ownConnectionString = new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString();

    /// <summary>The commit loop's connection (see <see cref="WriteAsync"/>).</summary>
    private SqliteConnection? _connection;
    private SqliteCommand _insertMessage = null!;
    private SqliteCommand _insertContent = null!;
    private SqliteCommand _insertSmallContent = null!;
    private SqliteCommand _insertSearchText = null!;
    private SqliteCommand _insertAttachment = null!;

    /// <summary>The index loop's connection (see <see cref="IndexPendingAsync"/>): the main file to read, the index file attached to write.</summary>
    private SqliteConnection? _indexConnection;
    private SqliteCommand _indexWaiting = null!;
    private SqliteCommand _indexPending = null!;
    private SqliteCommand _clearAppliedDeletions = null!;
    private SqliteCommand _optimizeIndex = null!;
    private SqliteCommand _mergeIndexStep = null!;
    private SqliteCommand _totalChanges = null!;
    private SqliteCommand _indexFreePages = null!;
    private SqliteCommand _giveBackIndexSpaceStep = null!;
    private SqliteCommand _checkpointIndex = null!;

    /// <summary>Pages (~4 KB) an idle merge step writes at most (~1 MB): mail that comes meanwhile waits one short step for its index step.</summary>
    private const int MergeStepPages = 256;
    /// <summary>Pages (~4 KB) a step gives back to the file system at most (~4 MB): mail that comes meanwhile waits one short step.</summary>
    private const int GiveBackStepPages = 1024;

    /// <summary>
    /// The index's words of committed search entries not indexed yet, by entry id, as computed before
    /// the queue (<see cref="BeforeQueue"/>): the index step takes them from here instead of computing
    /// them again. Filled by the commit loop, taken by the index loop (hence the lock). Bounded; what is
    /// missing (after a restart, or past the bound) is computed from the stored text.
    /// </summary>
    private readonly Dictionary<long, string> _indexTexts = [];
    private readonly Lock _indexTextsLock = new();
    private const int MaxIndexTexts = 20_000;
    private const string PreparedWordsFunction = "mailtest_prepared_search_trigrams";

    public PreparedMessage BeforeQueue(PreparedMessage message) =>
        message with { SearchIndexText = SearchTrigrams.IndexText(message.SearchText) };

    public Task WriteAsync(IReadOnlyList<PreparedMessage> batch)
    {
        var connection = Open();
        var indexTexts = new List<(long EntryId, string Text)>(batch.Count);
        try
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            foreach (var message in batch)
            {
                var entryId = Insert(message, transaction);
                if (message.SearchIndexText is { } text) indexTexts.Add((entryId, text));
            }
            // Before the commit, so an index step that sees the rows finds their words; taken back if it fails
            // (a rolled-back id may be handed out again, to another message).
            lock (_indexTextsLock)
                foreach (var (entryId, text) in indexTexts)
                    if (_indexTexts.Count < MaxIndexTexts) _indexTexts[entryId] = text;
            transaction.Commit();
        }
        catch
        {
            lock (_indexTextsLock)
                foreach (var (entryId, _) in indexTexts) _indexTexts.Remove(entryId);
            Close(); // a fresh connection for the retry, whatever state this one is in
            throw;
        }
        return Task.CompletedTask;
    }

    public Task<IndexPass> IndexPendingAsync(int maxRows)
    {
        var connection = OpenIndex();
        try
        {
            // Looked at first without a transaction: when idle, the loop asks now and then, and should write nothing.
            if (Convert.ToInt64(_indexWaiting.ExecuteScalar(), CultureInfo.InvariantCulture) == 0) return Task.FromResult(new IndexPass(0, 0));
            int indexed, removed;
            long indexedThrough;
            // Deferred: the transaction reads the main file (one snapshot for the log and the entries) and writes only the index file.
            using (var transaction = connection.BeginTransaction(deferred: true))
            {
                _indexPending.Transaction = transaction;
                _indexPending.Parameters["$max"].Value = maxRows;
                using (var reader = _indexPending.ExecuteReader())
                {
                    while (reader.FieldCount == 0 || !reader.Read())
                        if (!reader.NextResult()) throw new InvalidOperationException("The index step returned no counts.");
                    (indexed, removed, indexedThrough) = (reader.GetInt32(0), reader.GetInt32(1), reader.GetInt64(2));
                }
                transaction.Commit();
            }
            // The index has them: their log entries can go. A crash before this applies them again (deleting an absent row is a no-op).
            if (removed > 0) _clearAppliedDeletions.ExecuteNonQuery();
            ForgetIndexTextsThrough(indexedThrough);
            return Task.FromResult(new IndexPass(indexed, removed));
        }
        catch
        {
            CloseIndex();
            throw;
        }
    }

    public Task<bool> MergeIndexStepAsync()
    {
        OpenIndex();
        try
        {
            // FTS5 tells whether a 'merge' found work only through the connection's change count: 2 or more when it did.
            var before = (long)_totalChanges.ExecuteScalar()!;
            _mergeIndexStep.ExecuteNonQuery();
            return Task.FromResult((long)_totalChanges.ExecuteScalar()! - before >= 2);
        }
        catch
        {
            CloseIndex();
            throw;
        }
    }

    public Task<bool> GiveBackIndexSpaceStepAsync()
    {
        OpenIndex();
        try
        {
            var free = Convert.ToInt64(_indexFreePages.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (free > 0)
            {
                // One row per page freed: read to the end, or the vacuum stops at the first.
                using (var reader = _giveBackIndexSpaceStep.ExecuteReader())
                    do while (reader.Read()) { } while (reader.NextResult());
                var left = Convert.ToInt64(_indexFreePages.ExecuteScalar(), CultureInfo.InvariantCulture);
                if (left > 0 && left < free) return Task.FromResult(true);
            }
            // All given back (or a file that cannot give any): the shorter file reaches the disk at a checkpoint; now rather than later.
            _checkpointIndex.ExecuteNonQuery();
            return Task.FromResult(false);
        }
        catch
        {
            CloseIndex();
            throw;
        }
    }

    public Task OptimizeIndexAsync()
    {
        OpenIndex();
        try
        {
            _optimizeIndex.ExecuteNonQuery();
        }
        catch
        {
            CloseIndex();
            throw;
        }
        return Task.CompletedTask;
    }

    /// <summary>Words kept for entries the index has passed (indexed, or deleted before their turn) are not needed any more.</summary>
    private void ForgetIndexTextsThrough(long entryId)
    {
        lock (_indexTextsLock)
            foreach (var id in _indexTexts.Keys)
                if (id <= entryId) _indexTexts.Remove(id);
    }

    /// <returns>The id of the message's search entry.</returns>
    private long Insert(PreparedMessage message, SqliteTransaction transaction)
    {
        var m = message.Summary;
        var id = Text(m.Id);
        Bind(_insertMessage, transaction,
            id, Text(m.OrganizationId), Text(m.EnvironmentId), Text(m.ReceivedUtc), m.EnvelopeFrom, m.EnvelopeTo,
            m.From, m.To, m.Cc, m.ReplyTo, m.Subject, m.MessageIdHeader, m.Size, m.AttachmentCount, m.IsRead ? 1 : 0, m.Tags);
        if (message.Content.InMemoryBytes is { } sealedBytes)
            Bind(_insertSmallContent, transaction, id, sealedBytes); // small: bound as it is, no blob handle to open
        else
            InsertStreamed(message.Content, id, transaction);
        _insertSearchText.Transaction = transaction;
        _insertSearchText.Parameters[0].Value = id;
        _insertSearchText.Parameters[1].Value = message.SearchText;
        var entryId = (long)_insertSearchText.ExecuteScalar()!;
        foreach (var a in m.Attachments)
            Bind(_insertAttachment, transaction, id, a.PartPath, a.FileName, a.ContentType, a.ContentId, a.IsInline ? 1 : 0, a.Size);
        return entryId;
    }

    private void InsertStreamed(SealedContent content, string id, SqliteTransaction transaction)
    {
        // The sealed message streams into space reserved with zeroblob(): a large one is never whole in memory.
        _insertContent.Transaction = transaction;
        _insertContent.Parameters[0].Value = id;
        _insertContent.Parameters[1].Value = content.Length;
        var rowId = (long)_insertContent.ExecuteScalar()!;
        using var source = content.OpenRead();
        using var blob = new SqliteBlob(transaction.Connection!, "MessageContents", "Sealed", rowId);
        source.CopyTo(blob, 64 * 1024);
    }

    private static void Bind(SqliteCommand command, SqliteTransaction transaction, params object?[] values)
    {
        command.Transaction = transaction;
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i] ?? DBNull.Value;
        command.ExecuteNonQuery();
    }

    private static string Text(Guid value) => value.ToString().ToUpperInvariant();

    private static string Text(DateTime value) => value.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);

    private SqliteConnection Open()
    {
        if (_connection is not null) return _connection;
        var connection = new SqliteConnection(_ownConnectionString);
        connection.Open();
        SqlitePragmas.Prepare(connection, SearchIndexAccess.None); // the app's own connections' settings, durability included
        _insertMessage = Prepare(connection, """
            INSERT INTO "Messages" ("Id", "OrganizationId", "EnvironmentId", "ReceivedUtc", "EnvelopeFrom", "EnvelopeTo",
                "From", "To", "Cc", "ReplyTo", "Subject", "MessageIdHeader", "Size", "AttachmentCount", "IsRead", "Tags")
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
            """, 16);
        _insertContent = Prepare(connection, """INSERT INTO "MessageContents" ("MessageId", "Sealed") VALUES ($1, zeroblob($2)) RETURNING rowid""", 2);
        _insertSmallContent = Prepare(connection, """INSERT INTO "MessageContents" ("MessageId", "Sealed") VALUES ($1, $2)""", 2);
        _insertSearchText = Prepare(connection, """INSERT INTO "MessageSearchEntries" ("MessageId", "Text") VALUES ($1, $2) RETURNING "Id" """, 2);
        _insertAttachment = Prepare(connection, """
            INSERT INTO "MessageAttachments" ("MessageId", "PartPath", "FileName", "ContentType", "ContentId", "IsInline", "Size")
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """, 7);
        _connection = connection;
        return connection;
    }

    void IMessageBatchWriter.OpenIndex() => OpenIndex();

    private SqliteConnection OpenIndex()
    {
        if (_indexConnection is not null) return _indexConnection;
        var connection = new SqliteConnection(_ownConnectionString);
        connection.Open();
        SqlitePragmas.Prepare(connection, SearchIndexAccess.ReadWrite);
        const string Index = $"\"{SearchIndexFile.Schema}\"";
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = $"""
                PRAGMA {Index}.auto_vacuum=INCREMENTAL; -- before WAL: takes effect on a file this creates (see SearchIndexFile.FileFormat)
                PRAGMA {Index}.journal_mode=WAL;
                PRAGMA {Index}.synchronous=FULL;
                {SearchIndexFile.CreateTablesSql(SearchIndexFile.Schema)}
                CREATE TEMP TABLE IF NOT EXISTS "PendingIndexRows" ("Id" INTEGER PRIMARY KEY);
                CREATE TEMP TABLE IF NOT EXISTS "AppliedIndexDeletions" ("EntryId" INTEGER PRIMARY KEY);
                """;
            setup.ExecuteNonQuery();
            // An index file ahead of the main file's ids belongs to another database (the main file restored
            // from an older copy, say): mail with ids up to its mark would never be indexed. Start it over.
            setup.CommandText = $"""
                SELECT (SELECT "IndexedThroughId" FROM {Index}."SearchIndexProgress")
                    > coalesce((SELECT "seq" FROM main."sqlite_sequence" WHERE "name" = 'MessageSearchEntries'), 0)
                """;
            if (Convert.ToInt64(setup.ExecuteScalar(), CultureInfo.InvariantCulture) != 0)
            {
                setup.CommandText = $"""
                    BEGIN IMMEDIATE;
                    INSERT INTO {Index}."MessageSearchIndex" ("MessageSearchIndex") VALUES ('delete-all');
                    UPDATE {Index}."SearchIndexProgress" SET "IndexedThroughId" = 0;
                    COMMIT;
                    """;
                setup.ExecuteNonQuery();
            }
        }
        // The index step's words: computed before the queue when there (taken, so each is used once), else from
        // the stored text. Two functions under coalesce, so the stored text (~10 KB) is read only when needed.
        connection.CreateFunction<long, string?>(PreparedWordsFunction, entryId =>
        {
            lock (_indexTextsLock)
                return _indexTexts.Remove(entryId, out var computed) ? computed : null;
        }, isDeterministic: false);
        SearchTrigrams.AddSqlFunction(connection);
        _indexWaiting = connection.CreateCommand();
        _indexWaiting.CommandText = $"""
            SELECT EXISTS (SELECT 1 FROM main."SearchIndexDeletions")
                OR EXISTS (SELECT 1 FROM main."MessageSearchEntries" WHERE "Id" > (SELECT "IndexedThroughId" FROM {Index}."SearchIndexProgress"))
            """;
        // One statement list per step: deletions logged since the last step out of the index (those of rows
        // it holds), then the rows past the mark, oldest first, into it; then the mark.
        _indexPending = connection.CreateCommand();
        _indexPending.CommandText = $"""
            DELETE FROM temp."PendingIndexRows";
            DELETE FROM temp."AppliedIndexDeletions";
            -- The index file's write lock first, waiting for it like any writer: SQLite refuses at once, without
            -- waiting, a transaction that has read a file and then wants to write it while another writes.
            UPDATE {Index}."SearchIndexProgress" SET "IndexedThroughId" = "IndexedThroughId";
            INSERT INTO temp."AppliedIndexDeletions" ("EntryId")
                SELECT "EntryId" FROM main."SearchIndexDeletions" ORDER BY "EntryId" LIMIT $max;
            DELETE FROM {Index}."MessageSearchIndex" WHERE rowid IN (
                SELECT "EntryId" FROM temp."AppliedIndexDeletions" WHERE "EntryId" <= (SELECT "IndexedThroughId" FROM {Index}."SearchIndexProgress"));
            INSERT INTO temp."PendingIndexRows" ("Id")
                SELECT "Id" FROM main."MessageSearchEntries"
                WHERE "Id" > (SELECT "IndexedThroughId" FROM {Index}."SearchIndexProgress") ORDER BY "Id" LIMIT $max;
            INSERT INTO {Index}."MessageSearchIndex" (rowid, "Trigrams")
                SELECT e."Id", coalesce({PreparedWordsFunction}(e."Id"), {SearchTrigrams.SqlFunction}(e."Text")) FROM temp."PendingIndexRows" p CROSS JOIN main."MessageSearchEntries" e ON e."Id" = p."Id";
            UPDATE {Index}."SearchIndexProgress" SET "IndexedThroughId" = (SELECT max("Id") FROM temp."PendingIndexRows")
                WHERE EXISTS (SELECT 1 FROM temp."PendingIndexRows");
            SELECT (SELECT count(*) FROM temp."PendingIndexRows"), (SELECT count(*) FROM temp."AppliedIndexDeletions"),
                (SELECT "IndexedThroughId" FROM {Index}."SearchIndexProgress");
            """;
        _indexPending.Parameters.Add("$max", SqliteType.Integer);
        _clearAppliedDeletions = connection.CreateCommand();
        _clearAppliedDeletions.CommandText = """
            DELETE FROM main."SearchIndexDeletions" WHERE "EntryId" IN (SELECT "EntryId" FROM temp."AppliedIndexDeletions")
            """;
        _optimizeIndex = connection.CreateCommand();
        _optimizeIndex.CommandText = $"""INSERT INTO {Index}."MessageSearchIndex" ("MessageSearchIndex") VALUES ('optimize')""";
        _optimizeIndex.CommandTimeout = 0; // a million messages' index: seconds to minutes
        // Levels of 4 or more segments (FTS5's usermerge), where automerge under load waits for 16.
        _mergeIndexStep = connection.CreateCommand();
        _mergeIndexStep.CommandText = $"""INSERT INTO {Index}."MessageSearchIndex" ("MessageSearchIndex", rank) VALUES ('merge', {MergeStepPages})""";
        _totalChanges = connection.CreateCommand();
        _totalChanges.CommandText = "SELECT total_changes()";
        _indexFreePages = connection.CreateCommand();
        _indexFreePages.CommandText = $"PRAGMA {Index}.freelist_count";
        _giveBackIndexSpaceStep = connection.CreateCommand();
        _giveBackIndexSpaceStep.CommandText = $"PRAGMA {Index}.incremental_vacuum({GiveBackStepPages})";
        _checkpointIndex = connection.CreateCommand();
        _checkpointIndex.CommandText = $"PRAGMA {Index}.wal_checkpoint(PASSIVE)";
        _indexConnection = connection;
        return connection;
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, int parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 1; i <= parameters; i++) command.Parameters.Add(new SqliteParameter($"${i}", null));
        return command;
    }

    private void Close()
    {
        _connection?.Dispose();
        _connection = null;
    }

    private void CloseIndex()
    {
        _indexConnection?.Dispose();
        _indexConnection = null;
    }

    public ValueTask DisposeAsync()
    {
        Close();
        CloseIndex();
        return ValueTask.CompletedTask;
    }
}
