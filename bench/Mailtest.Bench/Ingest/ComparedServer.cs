using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Mailtest.Bench.Ingest;

/// <summary>
/// A server the ingest comparison starts as a child process on free loopback ports (MailDev, smtp4dev,
/// the bare sink, the engine alone) and kills with its process tree at the end. Mailtest itself is a
/// <see cref="MailtestProcess"/>.
/// </summary>
public sealed class ComparedServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string? _directory;

    private ComparedServer(Process process, IngestTarget target, string? directory)
    {
        _process = process;
        Target = target;
        _directory = directory;
    }

    public IngestTarget Target { get; }

    /// <summary>MailDev 3 on Node: plain SMTP without AUTH, mail persisted as files (its <c>--mail-directory</c>).</summary>
    public static Task<ComparedServer> MailDevAsync(string maildevScript)
    {
        var directory = NewDirectory("maildev");
        var port = FreePort();
        return StartAsync("MailDev", "node",
            [maildevScript, "--smtp", port.ToString(), "--ip", "127.0.0.1", "--web", FreePort().ToString(), "--web-ip", "127.0.0.1", "--mail-directory", directory, "--silent"],
            port, startTlsAndAuth: false, directory);
    }

    /// <summary>smtp4dev 3 (.NET, EF Core + SQLite) with STARTTLS and AUTH required, any credentials accepted.</summary>
    public static Task<ComparedServer> Smtp4devAsync(string smtp4devExecutable)
    {
        var directory = NewDirectory("smtp4dev");
        var port = FreePort();
        return StartAsync("smtp4dev", smtp4devExecutable,
        [
            $"--smtpport={port}", $"--urls=http://127.0.0.1:{FreePort()}", $"--imapport={FreePort()}", $"--pop3port={FreePort()}",
            "--tlsmode=StartTls", "--authenticationrequired", "--smtpallowanycredentials", "--hostname=localhost",
            $"--db={Path.Combine(directory, "smtp4dev.db")}", $"--baseappdatapath={directory}", "--nousersettings",
        ], port, startTlsAndAuth: true, directory);
    }

    /// <summary>This harness's bare STARTTLS + AUTH sink (<see cref="SmtpSink"/>), in a process of its own.</summary>
    public static Task<ComparedServer> SinkAsync() => OwnCommandAsync("sink", "bare sink");

    /// <summary>Mailtest's SMTP engine with a backend that stores nothing (<see cref="EngineAlone"/>).</summary>
    public static Task<ComparedServer> EngineAloneAsync() => OwnCommandAsync("engine", "engine alone");

    private static Task<ComparedServer> OwnCommandAsync(string command, string name)
    {
        var port = FreePort();
        return StartAsync(name, "dotnet", [typeof(ComparedServer).Assembly.Location, command, "--port", port.ToString()], port, startTlsAndAuth: true, directory: null);
    }

    private static async Task<ComparedServer> StartAsync(string name, string program, IReadOnlyList<string> arguments, int port, bool startTlsAndAuth, string? directory)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        if (directory is not null) start.Environment["XDG_CONFIG_HOME"] = directory; // smtp4dev keeps its settings there
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ComparedServer(process, new IngestTarget(name, port, startTlsAndAuth, "bench", "bench-password", process.Id), directory);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"{name} exited with {process.ExitCode} during start-up");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                var greeting = new byte[3];
                using var read = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                if (await probe.GetStream().ReadAsync(greeting, read.Token) > 0)
                    return server;
            }
            catch (Exception e) when ((e is SocketException or IOException or OperationCanceledException) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(300);
            }
        }
    }

    private static string NewDirectory(string name)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"mailtest-bench-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        return directory;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        if (_directory is not null)
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
