using System.Diagnostics;
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
    private string? _clusterDirectory;
    private string? _binDirectory;
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
    public string BinPath(string program) => Path.Combine(_binDirectory ?? FindBinDirectory(), program);

    private async Task<string> EnsureStartedAsync()
    {
        if (_serverConnectionString is not null) return _serverConnectionString;
        await _startLock.WaitAsync();
        try
        {
            if (_serverConnectionString is not null) return _serverConnectionString;
            var external = Environment.GetEnvironmentVariable("MAILTEST_TEST_POSTGRES");
            _serverConnectionString = string.IsNullOrEmpty(external) ? await StartClusterAsync() : external;
            return _serverConnectionString;
        }
        finally { _startLock.Release(); }
    }

    private async Task<string> StartClusterAsync()
    {
        _binDirectory = FindBinDirectory();
        _clusterDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_clusterDirectory);
        var dataDirectory = Path.Combine(_clusterDirectory, "data");
        var asPostgres = Environment.UserName == "root";
        if (asPostgres)
            await RunAsync("chown", ["-R", "postgres:postgres", _clusterDirectory], asPostgres: false);

        await RunAsync(Path.Combine(_binDirectory, "initdb"),
            ["-D", dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], asPostgres);

        var port = FreeLoopbackPort();
        // fsync off: tests stop the cluster, they never survive a power loss.
        var serverOptions = $"-p {port} -k {_clusterDirectory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300";
        await RunAsync(Path.Combine(_binDirectory, "pg_ctl"),
            ["-D", dataDirectory, "-o", serverOptions, "-l", Path.Combine(_clusterDirectory, "server.log"), "-w", "-t", "60", "start"], asPostgres);

        return new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = port, Username = "postgres", Database = "postgres",
            Pooling = true, MaxPoolSize = 20, Timeout = 30, CommandTimeout = 60,
        }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_clusterDirectory is null || _binDirectory is null) return;
        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunAsync(Path.Combine(_binDirectory, "pg_ctl"),
                ["-D", Path.Combine(_clusterDirectory, "data"), "-m", "immediate", "-w", "stop"], Environment.UserName == "root");
        }
        finally
        {
            try { Directory.Delete(_clusterDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    internal static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindBinDirectory()
    {
        var configured = Environment.GetEnvironmentVariable("MAILTEST_PG_BIN");
        if (!string.IsNullOrEmpty(configured)) return configured;
        var versions = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d, StringComparer.Ordinal).ToList()
            : [];
        foreach (var version in versions)
            if (File.Exists(Path.Combine(version, "bin", "initdb"))) return Path.Combine(version, "bin");
        throw new InvalidOperationException(
            "PostgreSQL server binaries were not found under /usr/lib/postgresql/*/bin. Install postgresql (.ci/run does) or set MAILTEST_PG_BIN.");
    }

    private static async Task RunAsync(string program, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (asPostgres) { start.ArgumentList.Add("-u"); start.ArgumentList.Add("postgres"); start.ArgumentList.Add("--"); start.ArgumentList.Add(program); }
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(program)} failed ({process.ExitCode}): {await stderr}{await stdout}");
    }
}
