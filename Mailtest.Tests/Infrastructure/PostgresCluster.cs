using System.Diagnostics;
using Npgsql;

namespace Mailtest.Tests.Infrastructure;

/// <summary>
/// One throwaway PostgreSQL cluster on a free loopback port: <c>initdb</c>, <c>pg_ctl start</c>, and
/// stop/start on the same port for tests of a database outage. <c>initdb</c> refuses root, so as root
/// the cluster runs as <c>postgres</c>. Deleted on dispose.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _serverOptions;
    private readonly bool _asPostgres = Environment.UserName == "root";

    private PostgresCluster(string binDirectory, string directory, int port, bool synchronousCommit)
    {
        BinDirectory = binDirectory;
        _directory = directory;
        Port = port;
        // fsync off: tests stop the cluster, they never survive a power loss. A commit survives an
        // immediate stop only with synchronous_commit on (the WAL reaches the OS before the commit returns).
        _serverOptions = $"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit={(synchronousCommit ? "on" : "off")} -c full_page_writes=off -c max_connections=300";
    }

    public string BinDirectory { get; }
    public int Port { get; }
    private string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>The server's connection string (database <c>postgres</c>, user <c>postgres</c>, trust auth).</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = Port, Username = "postgres", Database = "postgres",
        Pooling = true, MaxPoolSize = 20, Timeout = 30, CommandTimeout = 60,
    }.ConnectionString;

    /// <param name="synchronousCommit">Keep every commit across <see cref="StopServerAsync"/> (for outage tests).</param>
    public static async Task<PostgresCluster> StartAsync(bool synchronousCommit = false)
    {
        var cluster = new PostgresCluster(FindBinDirectory(), Path.Combine(Path.GetTempPath(), $"mailtest-pg-{Guid.NewGuid():N}"), PostgresServer.FreeLoopbackPort(), synchronousCommit);
        Directory.CreateDirectory(cluster._directory);
        if (cluster._asPostgres)
            await RunAsync("chown", ["-R", "postgres:postgres", cluster._directory], asPostgres: false);
        await RunAsync(cluster.Bin("initdb"),
            ["-D", cluster.DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], cluster._asPostgres);
        await cluster.StartServerAsync();
        return cluster;
    }

    /// <summary>Starts the server again on the same port (after <see cref="StopServerAsync"/>).</summary>
    public Task StartServerAsync() =>
        RunAsync(Bin("pg_ctl"), ["-D", DataDirectory, "-o", _serverOptions, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "60", "start"], _asPostgres);

    /// <summary>
    /// Stops the server at once, as a crash or an outage would (open connections are cut); or, <paramref name="fast"/>,
    /// as a restart by the operator does (pg_ctl's and systemd's default: each open connection is told it is ended).
    /// </summary>
    public Task StopServerAsync(bool fast = false) =>
        RunAsync(Bin("pg_ctl"), ["-D", DataDirectory, "-m", fast ? "fast" : "immediate", "-w", "stop"], _asPostgres);

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await StopServerAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        finally
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private string Bin(string program) => Path.Combine(BinDirectory, program);

    internal static string FindBinDirectory()
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
