using Mailtest.Core.Messages;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Core.Data;

/// <summary>Applies migrations before anything else starts; refuses a database written by a newer Mailtest.</summary>
public sealed class DatabaseMigrator(IDbContextFactory<MailtestDbContext> factory, IOptions<DataOptions> data, ILogger<DatabaseMigrator> logger)
{
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        // Before any connection attaches it: the search index file, made anew if missing or unreadable.
        if (data.Value.Provider == DatabaseProvider.Sqlite && SearchIndexFile.DatabasePath(data.Value.EffectiveConnectionString) is { } databasePath)
            SearchIndexFile.EnsureUsable(databasePath, logger);
        await using var db = await factory.CreateDbContextAsync(cancellationToken);
        var known = db.GetService<IMigrationsAssembly>().Migrations.Keys.ToHashSet();
        if (await db.Database.CanConnectAsync(cancellationToken))
        {
            var applied = await db.Database.GetAppliedMigrationsAsync(cancellationToken);
            var unknown = applied.Where(m => !known.Contains(m)).ToList();
            if (unknown.Count > 0)
                throw new InvalidOperationException(
                    $"The database was written by a newer Mailtest (unknown migrations: {string.Join(", ", unknown)}). " +
                    "Upgrade Mailtest or point it at another database.");
        }
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
            logger.LogInformation("Applying {Count} database migration(s): {Migrations}", pending.Count, string.Join(", ", pending));
        if (db.IsSqlite)
        {
            // The migration that rebuilds the full-text index fills it through this function.
            await db.Database.OpenConnectionAsync(cancellationToken);
            SearchTrigrams.AddSqlFunction((SqliteConnection)db.Database.GetDbConnection());
        }
        // No command timeout: a migration may build an index over every message (minutes at a million;
        // cancelled at the default 30 s, it would roll back and stop Mailtest from starting).
        db.Database.SetCommandTimeout(0);
        await db.Database.MigrateAsync(cancellationToken);
        await UseIncrementalVacuumAsync(db, cancellationToken);
        // SQLite has just created mailtest.db, -wal and -shm with the process umask: make them owner-only.
        PrivateDataDirectory.Secure(data.Value.FullDirectory);
    }

    /// <summary>
    /// A SQLite file created before Mailtest used incremental auto-vacuum is converted once (a full
    /// VACUUM, before SMTP starts), so that purged space can be given back to the file system.
    /// </summary>
    private async Task UseIncrementalVacuumAsync(MailtestDbContext db, CancellationToken cancellationToken)
    {
        if (!db.IsSqlite) return;
        const int Incremental = 2;
        await db.Database.OpenConnectionAsync(cancellationToken);
        await using (var command = db.Database.GetDbConnection().CreateCommand())
        {
            command.CommandText = "PRAGMA auto_vacuum";
            if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == Incremental) return;
        }
        logger.LogInformation("Converting the SQLite database to incremental auto-vacuum (once; this rewrites the file).");
        await db.Database.ExecuteSqlRawAsync("PRAGMA auto_vacuum=INCREMENTAL", cancellationToken);
        await db.Database.ExecuteSqlRawAsync("VACUUM", cancellationToken);
    }
}
