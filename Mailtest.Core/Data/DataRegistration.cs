using Mailtest.Core.Messages;
using Mailtest.Core.Security;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using System.Data.Common;
using System.Globalization;

namespace Mailtest.Core.Data;

public static class DataRegistration
{
    /// <summary>The database (SQLite or PostgreSQL, from configuration), the installation's keys and the sealing box.</summary>
    public static IHostApplicationBuilder AddMailtestData(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DataOptions>().BindConfiguration(DataOptions.Section).ValidateOnStart();
        builder.Services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.Section);
        builder.Services.AddSingleton<InstallationSecrets>();
        builder.Services.AddSingleton<SecretBox>();
        builder.Services.AddSingleton<ChunkedSecretBox>();
        builder.Services.AddSingleton<IDbContextFactory<MailtestDbContext>, MailtestDbContextFactory>();
        builder.Services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContext());
        builder.Services.AddSingleton<DatabaseMigrator>();
        return builder;
    }
}

/// <summary>Creates the provider's context with options built once.</summary>
public sealed class MailtestDbContextFactory : IDbContextFactory<MailtestDbContext>
{
    private readonly Func<MailtestDbContext> _create;

    public MailtestDbContextFactory(IOptions<DataOptions> options)
    {
        var data = options.Value;
        var connectionString = data.EffectiveConnectionString;
        switch (data.Provider)
        {
            case DatabaseProvider.Sqlite:
                PrivateDataDirectory.Secure(data.FullDirectory);
                var sqlite = new DbContextOptionsBuilder<SqliteMailtestDbContext>()
                    .UseSqlite(SearchIndexFile.WithUriDataSource(connectionString))
                    .AddInterceptors(SqlitePragmas.Instance)
                    .Options;
                _create = () => new SqliteMailtestDbContext(sqlite);
                break;
            case DatabaseProvider.Postgres:
                var postgres = new DbContextOptionsBuilder<PostgresMailtestDbContext>()
                    .UseNpgsql(WithoutJit(connectionString), npgsql => npgsql.ExecutionStrategy(dependencies => new DeadConnectionQueryRetry(dependencies)))
                    .AddInterceptors(DeadConnectionQueryRetry.ReadMarker)
                    .Options;
                _create = () => new PostgresMailtestDbContext(postgres);
                break;
            default:
                throw new InvalidOperationException($"Unknown database provider {data.Provider}.");
        }
    }

    public MailtestDbContext CreateDbContext() => _create();

    /// <summary>
    /// Our queries are short page reads; a newest-first walk with LIMIT carries the cost of the whole
    /// scan it will never do, which makes PostgreSQL JIT-compile it (about a second, for a query that
    /// runs in one millisecond). A startup option, so it survives the pool's session reset.
    /// </summary>
    private static string WithoutJit(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? "-c jit=off" : builder.Options + " -c jit=off";
        return builder.ConnectionString;
    }
}

/// <summary>
/// Every SQLite connection's setup, in one place: WAL (readers never wait for the writer) kept to a
/// size, a busy timeout, foreign keys, and the search index file attached (<see cref="SearchIndexFile"/>).
/// </summary>
internal sealed class SqlitePragmas : DbConnectionInterceptor
{
    public static readonly SqlitePragmas Instance = new();

    private const long IncrementalVacuum = 2;

    /// <summary>
    /// The most a write-ahead log keeps on disk once a checkpoint has emptied it: without a limit it keeps the
    /// largest size it ever grew to (a burst, the index's rebuild, a reader holding old pages), which a purge
    /// cannot give back. SQLite cuts it back at the first commit after such a checkpoint. Under steady mail a log
    /// grows to 4-7 MB between checkpoints (1,000 pages, plus what readers hold back): 8 MB is above that, so
    /// steady ingest goes on reusing its log, never cut back and regrown.
    /// </summary>
    internal const long WriteAheadLogLimitBytes = 8 * 1024 * 1024;

    // synchronous=FULL: a committed transaction survives power loss, so 250 is never a lie.
    private static readonly string EveryConnection =
        $"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; PRAGMA journal_size_limit={WriteAheadLogLimitBytes};";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    // Microsoft.Data.Sqlite runs its async commands synchronously anyway: one path for both.
    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    private static void Apply(DbConnection connection)
    {
        if (connection is not SqliteConnection sqlite) return;
        var readOnly = new SqliteConnectionStringBuilder(sqlite.ConnectionString).Mode == SqliteOpenMode.ReadOnly;
        if (!readOnly) UseIncrementalVacuum(sqlite);
        // EF's existence check opens the file read-only: it reads no index (and the index file may not exist yet).
        Prepare(sqlite, readOnly ? SearchIndexAccess.None : SearchIndexAccess.ReadOnly);
    }

    /// <summary>
    /// The settings of <see cref="EveryConnection"/>, and the search index file attached as
    /// <see cref="SearchIndexFile.Schema"/> (again after a pooled connection is reopened: only if it is not yet).
    /// App connections attach it read-only: a write transaction (BEGIN IMMEDIATE) takes the write lock of
    /// every database attached for writing, so a read-write attachment would make the app's writes, and
    /// the ingest commits queued behind them, wait for the index step. Only the ingest writer's index
    /// connection writes it (<see cref="SearchIndexAccess.ReadWrite"/>); its commit connection does not
    /// attach it at all.
    /// </summary>
    internal static void Prepare(SqliteConnection connection, SearchIndexAccess searchIndex)
    {
        using var command = connection.CreateCommand();
        command.CommandText = EveryConnection;
        command.ExecuteNonQuery();
        if (searchIndex == SearchIndexAccess.None || connection.DataSource.Length == 0) return;
        command.CommandText = $"""SELECT count(*) FROM pragma_database_list WHERE name = '{SearchIndexFile.Schema}'""";
        if (Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
        {
            var path = SearchIndexFile.PathFor(connection.DataSource);
            command.CommandText = $"ATTACH DATABASE $path AS \"{SearchIndexFile.Schema}\"";
            // Read-only needs a URI, which SQLite reads in ATTACH only on a connection opened by URI (WithUriDataSource).
            command.Parameters.AddWithValue("$path", searchIndex == SearchIndexAccess.ReadOnly ? SearchIndexFile.Uri(path, readOnly: true) : path);
            command.ExecuteNonQuery();
            command.Parameters.Clear();
        }
        if (searchIndex != SearchIndexAccess.ReadWrite) return;
        // The limit is each attached file's own (unqualified, it is main's only), kept by the connection that writes it.
        command.CommandText = $"""PRAGMA "{SearchIndexFile.Schema}".journal_size_limit={WriteAheadLogLimitBytes}""";
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// auto_vacuum=INCREMENTAL takes effect only on a new, empty file (before WAL is switched on): purges
    /// can then hand freed pages back to the file system (DatabaseSpace); older files are converted once by
    /// DatabaseMigrator. Setting it takes the database's write lock even when nothing changes, so it is read
    /// first (no lock) and set only where it is not yet: otherwise every read would open by queueing behind
    /// the ingest writer (seconds under load). EF's existence check opens the file read-only, where setting fails.
    /// </summary>
    private static void UseIncrementalVacuum(SqliteConnection sqlite)
    {
        using var command = sqlite.CreateCommand();
        command.CommandText = "PRAGMA auto_vacuum";
        if (Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) != IncrementalVacuum)
        {
            command.CommandText = "PRAGMA auto_vacuum=INCREMENTAL";
            command.ExecuteNonQuery();
        }
    }
}

/// <summary>How a connection attaches the search index file (see <see cref="SqlitePragmas.Prepare"/>).</summary>
internal enum SearchIndexAccess
{
    None,
    ReadOnly,
    ReadWrite,
}
