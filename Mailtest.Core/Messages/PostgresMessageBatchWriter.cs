using Npgsql;
using NpgsqlTypes;

namespace Mailtest.Core.Messages;

/// <summary>
/// PostgreSQL's ingest path: each batch is one round trip on a connection from the writer's own pool,
/// one transaction of multi-row INSERTs (rows passed as arrays through <c>unnest</c>: summaries, search
/// text, attachment index) and one INSERT per sealed raw message, streamed. (Binary
/// COPY was tried first: four COPYs per batch cost a round trip each, which dominated on a busy machine.)
/// <para>
/// The pg_trgm GIN index is PostgreSQL's own deferred index: with <c>fastupdate</c> (the default) a
/// commit only appends to the index's pending list, and PostgreSQL merges that list into the index
/// later in bulk (autovacuum, or when it outgrows <c>gin_pending_list_limit</c>), while searches read
/// both. So text is searchable at commit and there is nothing left for <see cref="IndexPendingAsync"/>.
/// </para>
/// </summary>
internal sealed class PostgresMessageBatchWriter(string connectionString) : IMessageBatchWriter
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);

    public async Task WriteAsync(IReadOnlyList<PreparedMessage> batch)
    {
        try
        {
            await WriteOnceAsync(batch);
        }
        catch (NpgsqlException error) when (error.IsTransient)
        {
            // After a database restart the pool's idle connections are dead and fail on first use.
            // The batch is written again on fresh connections (if the failure hit the commit itself
            // and it did land, the primary keys refuse the copy: never stored twice).
            _dataSource.Clear();
            await WriteOnceAsync(batch);
        }
    }

    private async Task WriteOnceAsync(IReadOnlyList<PreparedMessage> batch)
    {
        var summaries = batch.Select(p => p.Summary).ToArray();
        var attachments = batch.SelectMany(p => p.Summary.Attachments.Select(a => (MessageId: p.Summary.Id, Attachment: a))).ToArray();
        var sealedFiles = new List<Stream>(batch.Count);
        try
        {
            // One round trip: the statements of a batch run in one implicit transaction (all or nothing),
            // rows go in as arrays, one INSERT per table.
            await using var connection = await _dataSource.OpenConnectionAsync();
            await using var write = new NpgsqlBatch(connection);
            write.BatchCommands.Add(Command("""
                INSERT INTO "Messages" ("Id", "OrganizationId", "EnvironmentId", "ReceivedUtc", "EnvelopeFrom", "EnvelopeTo",
                    "From", "To", "Cc", "ReplyTo", "Subject", "MessageIdHeader", "Size", "AttachmentCount", "IsRead", "Tags")
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[],
                    $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::integer[], $15::boolean[], $16::text[])
                """,
                summaries.Select(m => m.Id).ToArray(), summaries.Select(m => m.OrganizationId).ToArray(), summaries.Select(m => m.EnvironmentId).ToArray(),
                summaries.Select(m => m.ReceivedUtc).ToArray(), summaries.Select(m => m.EnvelopeFrom).ToArray(), summaries.Select(m => m.EnvelopeTo).ToArray(),
                summaries.Select(m => m.From).ToArray(), summaries.Select(m => m.To).ToArray(), summaries.Select(m => m.Cc).ToArray(),
                summaries.Select(m => m.ReplyTo).ToArray(), summaries.Select(m => m.Subject).ToArray(), summaries.Select(m => m.MessageIdHeader).ToArray(),
                summaries.Select(m => m.Size).ToArray(), summaries.Select(m => m.AttachmentCount).ToArray(), summaries.Select(m => m.IsRead).ToArray(), summaries.Select(m => m.Tags).ToArray()));
            write.BatchCommands.Add(Command("""
                INSERT INTO "MessageSearchEntries" ("MessageId", "EnvironmentId", "Text") SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])
                """, summaries.Select(m => m.Id).ToArray(), summaries.Select(m => m.EnvironmentId).ToArray(), batch.Select(p => p.SearchText).ToArray()));
            if (attachments.Length > 0)
                write.BatchCommands.Add(Command("""
                    INSERT INTO "MessageAttachments" ("MessageId", "PartPath", "FileName", "ContentType", "ContentId", "IsInline", "Size")
                    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::bigint[])
                    """,
                    attachments.Select(a => a.MessageId).ToArray(), attachments.Select(a => a.Attachment.PartPath).ToArray(),
                    attachments.Select(a => a.Attachment.FileName).ToArray(), attachments.Select(a => a.Attachment.ContentType).ToArray(),
                    attachments.Select(a => a.Attachment.ContentId).ToArray(), attachments.Select(a => a.Attachment.IsInline).ToArray(),
                    attachments.Select(a => a.Attachment.Size).ToArray()));
            foreach (var message in batch)
            {
                // Streamed as the batch is sent: a large sealed message is never whole in memory.
                var sealedFile = message.Content.OpenRead();
                sealedFiles.Add(sealedFile);
                var insert = new NpgsqlBatchCommand("""INSERT INTO "MessageContents" ("MessageId", "Sealed") VALUES ($1, $2)""");
                insert.Parameters.Add(new NpgsqlParameter { Value = message.Summary.Id, NpgsqlDbType = NpgsqlDbType.Uuid });
                insert.Parameters.Add(new NpgsqlParameter { Value = sealedFile, NpgsqlDbType = NpgsqlDbType.Bytea });
                write.BatchCommands.Add(insert);
            }
            await write.ExecuteNonQueryAsync();
        }
        finally
        {
            foreach (var file in sealedFiles) await file.DisposeAsync();
        }
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] arrays)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var array in arrays) command.Parameters.Add(new NpgsqlParameter { Value = array });
        return command;
    }

    public Task<IndexPass> IndexPendingAsync(int maxRows) => Task.FromResult(new IndexPass(0, 0));

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
