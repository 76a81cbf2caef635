using Npgsql;
using NpgsqlTypes;

namespace Mailtest.Core.Messages;

/// <summary>
/// PostgreSQL's ingest path: each batch is one transaction of binary <c>COPY</c>s (summaries, sealed
/// raw messages, search text, attachment index) on a connection from the writer's own pool.
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
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var messages = await connection.BeginBinaryImportAsync("""
            COPY "Messages" ("Id", "OrganizationId", "EnvironmentId", "ReceivedUtc", "EnvelopeFrom", "EnvelopeTo",
                "From", "To", "Cc", "ReplyTo", "Subject", "MessageIdHeader", "Size", "AttachmentCount", "IsRead") FROM STDIN (FORMAT BINARY)
            """))
        {
            foreach (var m in batch.Select(p => p.Summary))
            {
                await messages.StartRowAsync();
                await messages.WriteAsync(m.Id, NpgsqlDbType.Uuid);
                await messages.WriteAsync(m.OrganizationId, NpgsqlDbType.Uuid);
                await messages.WriteAsync(m.EnvironmentId, NpgsqlDbType.Uuid);
                await messages.WriteAsync(m.ReceivedUtc, NpgsqlDbType.TimestampTz);
                await messages.WriteAsync(m.EnvelopeFrom, NpgsqlDbType.Text);
                await messages.WriteAsync(m.EnvelopeTo, NpgsqlDbType.Text);
                foreach (var text in (string?[])[m.From, m.To, m.Cc, m.ReplyTo, m.Subject, m.MessageIdHeader])
                    await WriteTextAsync(messages, text);
                await messages.WriteAsync(m.Size, NpgsqlDbType.Bigint);
                await messages.WriteAsync(m.AttachmentCount, NpgsqlDbType.Integer);
                await messages.WriteAsync(m.IsRead, NpgsqlDbType.Boolean);
            }
            await messages.CompleteAsync();
        }
        await using (var contents = await connection.BeginBinaryImportAsync("""COPY "MessageContents" ("MessageId", "Sealed") FROM STDIN (FORMAT BINARY)"""))
        {
            foreach (var message in batch)
            {
                await contents.StartRowAsync();
                await contents.WriteAsync(message.Summary.Id, NpgsqlDbType.Uuid);
                await contents.WriteAsync(message.Content.Sealed, NpgsqlDbType.Bytea);
            }
            await contents.CompleteAsync();
        }
        await using (var search = await connection.BeginBinaryImportAsync("""COPY "MessageSearchEntries" ("MessageId", "Text") FROM STDIN (FORMAT BINARY)"""))
        {
            foreach (var message in batch)
            {
                await search.StartRowAsync();
                await search.WriteAsync(message.Summary.Id, NpgsqlDbType.Uuid);
                await search.WriteAsync(message.SearchText, NpgsqlDbType.Text);
            }
            await search.CompleteAsync();
        }
        if (batch.Any(p => p.Summary.Attachments.Count > 0))
        {
            await using var attachments = await connection.BeginBinaryImportAsync("""
                COPY "MessageAttachments" ("MessageId", "PartPath", "FileName", "ContentType", "ContentId", "IsInline", "Size") FROM STDIN (FORMAT BINARY)
                """);
            foreach (var a in batch.SelectMany(p => p.Summary.Attachments.Select(a => (p.Summary.Id, a))))
            {
                await attachments.StartRowAsync();
                await attachments.WriteAsync(a.Id, NpgsqlDbType.Uuid);
                await attachments.WriteAsync(a.a.PartPath, NpgsqlDbType.Text);
                await WriteTextAsync(attachments, a.a.FileName);
                await attachments.WriteAsync(a.a.ContentType, NpgsqlDbType.Text);
                await WriteTextAsync(attachments, a.a.ContentId);
                await attachments.WriteAsync(a.a.IsInline, NpgsqlDbType.Boolean);
                await attachments.WriteAsync(a.a.Size, NpgsqlDbType.Bigint);
            }
            await attachments.CompleteAsync();
        }
        await transaction.CommitAsync();
    }

    private static Task WriteTextAsync(NpgsqlBinaryImporter importer, string? value) =>
        value is null ? importer.WriteNullAsync() : importer.WriteAsync(value, NpgsqlDbType.Text);

    public Task<int> IndexPendingAsync(int maxRows) => Task.FromResult(0);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
