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
                    .UseSqlite(connectionString)
                    .AddInterceptors(SqlitePragmas.Instance)
                    .Options;
                _create = () => new SqliteMailtestDbContext(sqlite);
                break;
            case DatabaseProvider.Postgres:
                var postgres = new DbContextOptionsBuilder<PostgresMailtestDbContext>()
                    .UseNpgsql(WithoutJit(connectionString))
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

/// <summary>WAL (readers never wait for the writer), a busy timeout, and foreign keys on every connection.</summary>
internal sealed class SqlitePragmas : DbConnectionInterceptor
{
    public static readonly SqlitePragmas Instance = new();

    private const long IncrementalVacuum = 2;
    // synchronous=FULL: a committed transaction survives power loss, so 250 is never a lie.
    internal const string EveryConnection = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;";

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
        using var command = sqlite.CreateCommand();
        if (MaySetAutoVacuum(sqlite))
        {
            command.CommandText = "PRAGMA auto_vacuum";
            if (Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) != IncrementalVacuum)
            {
                command.CommandText = "PRAGMA auto_vacuum=INCREMENTAL";
                command.ExecuteNonQuery();
            }
        }
        command.CommandText = EveryConnection;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// auto_vacuum=INCREMENTAL takes effect only on a new, empty file (before WAL is switched on): purges
    /// can then hand freed pages back to the file system (DatabaseSpace); older files are converted once by
    /// DatabaseMigrator. Setting it takes the database's write lock even when nothing changes, so it is read
    /// first (no lock) and set only where it is not yet: otherwise every read would open by queueing behind
    /// the ingest writer (seconds under load). EF's existence check opens the file read-only, where setting fails.
    /// </summary>
    private static bool MaySetAutoVacuum(SqliteConnection connection) =>
        new SqliteConnectionStringBuilder(connection.ConnectionString).Mode != SqliteOpenMode.ReadOnly;
}
