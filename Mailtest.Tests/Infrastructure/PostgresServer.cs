using System.Net;
using System.Net.Sockets;
using Npgsql;

[assembly: AssemblyFixture(typeof(Mailtest.Tests.Infrastructure.PostgresServer))]

namespace Mailtest.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster that the test run starts itself on a free loopback port, the
/// first time a test asks for a database, and stops at the end of the run. Each caller gets a
/// database of its own. <c>initdb</c> refuses root, so as root the cluster runs as <c>postgres</c>.
/// Set MAILTEST_TEST_POSTGRES to a server connection string to use an existing server instead.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private string? _serverConnectionString;
    private PostgresCluster? _cluster;
    private int _databaseCounter;

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "test")
    {
        var server = await EnsureStartedAsync();
        var name = $"{prefix}_{Interlocked.Increment(ref _databaseCounter)}_{Guid.NewGuid():N}".ToLowerInvariant();
        if (name.Length > 63) name = name[..63];
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>Runs a PostgreSQL client program (pg_dump, psql) from the server's own bin directory.</summary>
    public string BinPath(string program) => Path.Combine(_cluster?.BinDirectory ?? PostgresCluster.FindBinDirectory(), program);

    private async Task<string> EnsureStartedAsync()
    {
        if (_serverConnectionString is not null) return _serverConnectionString;
        await _startLock.WaitAsync();
        try
        {
            if (_serverConnectionString is not null) return _serverConnectionString;
            var external = Environment.GetEnvironmentVariable("MAILTEST_TEST_POSTGRES");
            if (string.IsNullOrEmpty(external))
            {
                _cluster = await PostgresCluster.StartAsync();
                _serverConnectionString = _cluster.ConnectionString;
            }
            else
                _serverConnectionString = external;
            return _serverConnectionString;
        }
        finally { _startLock.Release(); }
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
            await _cluster.DisposeAsync();
    }

    internal static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
