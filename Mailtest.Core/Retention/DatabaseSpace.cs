using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Retention;

/// <summary>
/// Gives the space of purged messages back to the file system, so a year of purging does not grow
/// the database without bound. SQLite: incremental vacuum in small steps (each a short write
/// transaction, so ingest is not held up), of the main file here and of the search index file by the
/// ingest writer's index loop (<see cref="IngestWriter.GiveBackIndexSpaceAsync"/>). PostgreSQL: autovacuum already makes deleted rows' space
/// reusable, which is all the issue asks; nothing to do here.
/// </summary>
public sealed class DatabaseSpace(IDbContextFactory<MailtestDbContext> dbFactory, IngestWriter ingest)
{
    private const int PagesPerStep = 1024;

    /// <summary>
    /// How long a purge waits for the search index file to give its pages back. The index loop does it once it
    /// has applied the purge's deletions (a moment); if the index cannot move, retention still goes on, and the
    /// pages are given back once it can.
    /// </summary>
    private static readonly TimeSpan IndexSpaceWait = TimeSpan.FromMinutes(1);

    public async Task ReclaimAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!db.IsSqlite) return;
        await db.Database.OpenConnectionAsync(cancellationToken);
        var free = await ScalarAsync(db, "PRAGMA freelist_count", cancellationToken);
        while (free > 0)
        {
            await ScalarAsync(db, $"PRAGMA incremental_vacuum({PagesPerStep})", cancellationToken);
            var left = await ScalarAsync(db, "PRAGMA freelist_count", cancellationToken);
            if (left >= free) break; // not in incremental mode (an unconverted file): nothing more to do
            free = left;
            await Task.Yield();
        }
        // Move the shrunken pages from the write-ahead log into the file now rather than at the next checkpoint.
        // The main file's only: unqualified, it would checkpoint the read-only search index file too (an I/O error).
        await ScalarAsync(db, "PRAGMA main.wal_checkpoint(PASSIVE)", cancellationToken);
        // The search index file (SearchIndexFile) holds the purged messages' index words too: its only writer gives them back.
        try { await ingest.GiveBackIndexSpaceAsync(cancellationToken).WaitAsync(IndexSpaceWait, cancellationToken); }
        catch (TimeoutException) { } // it gives them back once it can
    }

    /// <summary>
    /// Bytes the database occupies on disk, as <c>du</c> on the data folder counts them. SQLite: every file of
    /// it, the main one and the search index (<see cref="SearchIndexFile"/>), each with its write-ahead log and
    /// shared-memory file (the pages of a file say nothing of the others, nor of a log that has grown);
    /// PostgreSQL: the database.
    /// </summary>
    public async Task<long> SizeOnDiskAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await db.Database.OpenConnectionAsync(cancellationToken);
        if (!db.IsSqlite)
            return await ScalarAsync(db, "SELECT pg_database_size(current_database())", cancellationToken);
        var main = db.Database.GetDbConnection().DataSource;
        if (main.Length == 0) // in memory
            return await ScalarAsync(db, "PRAGMA page_count", cancellationToken) * await ScalarAsync(db, "PRAGMA page_size", cancellationToken);
        return SearchIndexFile.FilesOf(main).Concat(SearchIndexFile.FilesOf(SearchIndexFile.PathFor(main))).Sum(file => File.Exists(file) ? new FileInfo(file).Length : 0);
    }

    /// <summary>Runs <paramref name="sql"/> to its end (incremental_vacuum frees pages step by step) and returns the first column of the first row.</summary>
    internal static async Task<long> ScalarAsync(MailtestDbContext db, string sql, CancellationToken cancellationToken)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        long? first = null;
        do
            while (await reader.ReadAsync(cancellationToken))
                first ??= reader.IsDBNull(0) ? 0 : Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture);
        while (await reader.NextResultAsync(cancellationToken));
        return first ?? 0;
    }
}
