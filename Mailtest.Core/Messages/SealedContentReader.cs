using System.Data;
using Mailtest.Core.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Mailtest.Core.Messages;

/// <summary>
/// Reads a message's sealed content as a stream straight from the database (SQLite incremental blob
/// I/O, PostgreSQL sequential access), so a large message is never loaded whole. The stream owns its
/// connection: disposing it closes both.
/// </summary>
internal static class SealedContentReader
{
    /// <summary>The sealed bytes of <paramref name="messageId"/>, or null if it has none. Does not check permissions.</summary>
    public static async Task<Stream?> OpenAsync(MailtestDbContext db, Guid messageId, CancellationToken cancellationToken)
    {
        var connectionString = db.Database.GetConnectionString()!;
        return db.IsSqlite
            ? await OpenSqliteAsync(connectionString, messageId, cancellationToken)
            : await OpenPostgresAsync(connectionString, messageId, cancellationToken);
    }

    private static async Task<Stream?> OpenSqliteAsync(string connectionString, Guid messageId, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var find = connection.CreateCommand();
            find.CommandText = """SELECT rowid FROM "MessageContents" WHERE "MessageId" = $id""";
            find.Parameters.AddWithValue("$id", messageId.ToString().ToUpperInvariant()); // as EF Core stores a Guid
            if (await find.ExecuteScalarAsync(cancellationToken) is not long rowId)
            {
                await connection.DisposeAsync();
                return null;
            }
            return new OwningStream(new SqliteBlob(connection, "MessageContents", "Sealed", rowId, readOnly: true), connection);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task<Stream?> OpenPostgresAsync(string connectionString, Guid messageId, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        NpgsqlCommand? command = null;
        NpgsqlDataReader? reader = null;
        try
        {
            await connection.OpenAsync(cancellationToken);
            command = new NpgsqlCommand("""SELECT "Sealed" FROM "MessageContents" WHERE "MessageId" = @id""", connection);
            command.Parameters.AddWithValue("id", messageId);
            reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess | CommandBehavior.SingleRow, cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                await reader.DisposeAsync();
                await command.DisposeAsync();
                await connection.DisposeAsync();
                return null;
            }
            return new OwningStream(await reader.GetStreamAsync(0, cancellationToken), reader, command, connection);
        }
        catch
        {
            if (reader is not null) await reader.DisposeAsync();
            if (command is not null) await command.DisposeAsync();
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>A read-only stream that disposes what it reads through (reader, command, connection) with itself.</summary>
    private sealed class OwningStream(Stream inner, params IDisposable[] owned) : Stream
    {
        private bool _disposed;

        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                inner.Dispose();
                foreach (var resource in owned) resource.Dispose(); // each has a synchronous Dispose of its own: no blocking on async
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                _disposed = true;
                await inner.DisposeAsync();
                foreach (var resource in owned)
                    if (resource is IAsyncDisposable asynchronous) await asynchronous.DisposeAsync();
                    else resource.Dispose();
            }
            await base.DisposeAsync();
        }
    }
}
