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
/// The FTS5 index (<c>MessageSearchIndex</c>: each search entry's distinct in-word trigrams, see
/// <see cref="SearchTrigrams"/>) is filled by <see cref="IndexPendingAsync"/>: rows with an id above
/// <c>SearchIndexProgress.IndexedThroughId</c> are committed but not indexed yet. Removal from the
/// index is the delete trigger of the SearchIndexTrigramWords migration: deleting a message (by any
/// path, cascades included) removes its index entry if it had one.
/// </para>
/// </summary>
internal sealed class SqliteMessageBatchWriter(string connectionString) : IMessageBatchWriter
{
    private SqliteConnection? _connection;
    private SqliteCommand _insertMessage = null!;
    private SqliteCommand _insertContent = null!;
    private SqliteCommand _insertSmallContent = null!;
    private SqliteCommand _insertSearchText = null!;
    private SqliteCommand _insertAttachment = null!;
    private SqliteCommand _indexPending = null!;

    /// <summary>
    /// The index's words of committed search entries not indexed yet, by entry id, as computed before
    /// the queue (<see cref="BeforeQueue"/>): the index step takes them from here instead of computing
    /// them again on the writer loop. Bounded; what is missing (after a restart, or past the bound) is
    /// computed from the stored text.
    /// </summary>
    private readonly Dictionary<long, string> _indexTexts = [];
    private const int MaxIndexTexts = 20_000;

    public PreparedMessage BeforeQueue(PreparedMessage message) =>
        message with { SearchIndexText = SearchTrigrams.IndexText(message.SearchText) };

    public Task WriteAsync(IReadOnlyList<PreparedMessage> batch)
    {
        var connection = Open();
        try
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            var indexTexts = new List<(long EntryId, string Text)>(batch.Count);
            foreach (var message in batch)
            {
                var entryId = Insert(message, transaction);
                if (message.SearchIndexText is { } text) indexTexts.Add((entryId, text));
            }
            transaction.Commit();
            // Only once committed: a rolled-back id may be handed out again, to another message.
            foreach (var (entryId, text) in indexTexts)
                if (_indexTexts.Count < MaxIndexTexts) _indexTexts[entryId] = text;
        }
        catch
        {
            Close(); // a fresh connection for the retry, whatever state this one is in
            throw;
        }
        return Task.CompletedTask;
    }

    public Task<int> IndexPendingAsync(int maxRows)
    {
        var connection = Open();
        try
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            _indexPending.Transaction = transaction;
            _indexPending.Parameters["$max"].Value = maxRows;
            var indexed = Convert.ToInt32(_indexPending.ExecuteScalar(), CultureInfo.InvariantCulture);
            transaction.Commit();
            return Task.FromResult(indexed);
        }
        catch
        {
            Close();
            throw;
        }
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
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using (var pragmas = connection.CreateCommand())
        {
            pragmas.CommandText = SqlitePragmas.EveryConnection; // the app's own connections' settings, durability included
            pragmas.ExecuteNonQuery();
        }
        // The index step's words: computed before the queue when there (taken, so each is used once), else from the stored text.
        connection.CreateFunction<long, string, string>(SearchTrigrams.SqlFunction,
            (entryId, text) => _indexTexts.Remove(entryId, out var computed) ? computed : SearchTrigrams.IndexText(text), isDeterministic: false);
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
        // One statement per pass: the rows past the mark, oldest first, into the index; then the mark.
        _indexPending = connection.CreateCommand();
        _indexPending.CommandText = $"""
            CREATE TEMP TABLE IF NOT EXISTS "PendingIndexRows" ("Id" INTEGER PRIMARY KEY);
            DELETE FROM "PendingIndexRows";
            INSERT INTO "PendingIndexRows" ("Id")
                SELECT "Id" FROM "MessageSearchEntries"
                WHERE "Id" > (SELECT "IndexedThroughId" FROM "SearchIndexProgress") ORDER BY "Id" LIMIT $max;
            INSERT INTO "MessageSearchIndex" (rowid, "Trigrams")
                SELECT e."Id", {SearchTrigrams.SqlFunction}(e."Id", e."Text") FROM "PendingIndexRows" p CROSS JOIN "MessageSearchEntries" e ON e."Id" = p."Id";
            UPDATE "SearchIndexProgress" SET "IndexedThroughId" = (SELECT max("Id") FROM "PendingIndexRows")
                WHERE EXISTS (SELECT 1 FROM "PendingIndexRows");
            SELECT count(*) FROM "PendingIndexRows";
            """;
        _indexPending.Parameters.Add("$max", SqliteType.Integer);
        _connection = connection;
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

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }
}
