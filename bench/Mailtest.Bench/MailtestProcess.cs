using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace Mailtest.Bench;

/// <summary>
/// A real Mailtest server started from the built Mailtest.Web.dll with a data directory of its own
/// on free loopback ports, plus the admin command line pointed at the same data.
/// </summary>
public sealed class MailtestProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Dictionary<string, string> _environment;

    private MailtestProcess(Process process, Dictionary<string, string> environment, string appPath, int smtpPort, string dataDirectory)
    {
        _process = process;
        _environment = environment;
        AppPath = appPath;
        SmtpPort = smtpPort;
        DataDirectory = dataDirectory;
    }

    public string AppPath { get; }
    public int SmtpPort { get; }

    /// <summary>The web server's base address (UI and API).</summary>
    public Uri WebAddress => new($"http://127.0.0.1:{_environment["Mailtest__Web__Port"]}/");
    public string DataDirectory { get; }
    public int ProcessId => _process.Id;

    public static async Task<MailtestProcess> StartAsync(string appPath, IDictionary<string, string>? extraSettings = null)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dataDirectory);
        var smtpPort = Ingest.ComparedServer.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["Mailtest__Data__Directory"] = dataDirectory,
            ["Mailtest__Web__Address"] = "127.0.0.1",
            ["Mailtest__Web__Port"] = Ingest.ComparedServer.FreePort().ToString(),
            ["Mailtest__Smtp__Address"] = "127.0.0.1",
            ["Mailtest__Smtp__Port"] = smtpPort.ToString(),
            ["Mailtest__Smtp__MaxConnectionsPerIp"] = "1000",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string>()) environment[key] = value;

        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(appPath);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start Mailtest");
        // Only warnings and errors are logged (Logging__LogLevel__Default=Warning): show them with the results.
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[mailtest] {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[mailtest] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new MailtestProcess(process, environment, appPath, smtpPort, dataDirectory);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"Mailtest exited with {process.ExitCode} during start-up");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, smtpPort);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Runs <c>admin ... --json</c> against this server's data and returns the parsed JSON.</summary>
    public Task<JsonElement> AdminAsync(params string[] arguments) => AdminAsync(new Dictionary<string, string>(), arguments);

    /// <summary>The same with settings of its own on top of the server's (e.g. a shorter retention for a purge run).</summary>
    public async Task<JsonElement> AdminAsync(IReadOnlyDictionary<string, string> settings, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(AppPath);
        start.ArgumentList.Add("admin");
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.ArgumentList.Add("--json");
        foreach (var (key, value) in _environment) start.Environment[key] = value;
        foreach (var (key, value) in settings) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stdout = await process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"admin {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    /// <summary>Creates an Agency organization, a project and a staging environment, and issues its SMTP credential.</summary>
    public async Task<(string Username, string Password, string EnvironmentId)> CreateSendingEnvironmentAsync()
    {
        var organization = await AdminAsync("org", "create", "Bench", "--plan", "Agency");
        var project = await AdminAsync("project", "create", organization.GetProperty("id").GetString()!, "Bench project");
        var environment = await AdminAsync("env", "create", project.GetProperty("id").GetString()!, "staging", "--kind", "staging");
        var environmentId = environment.GetProperty("id").GetString()!;
        var credential = await AdminAsync("credentials", "issue", environmentId);
        return (credential.GetProperty("username").GetString()!, credential.GetProperty("password").GetString()!, environmentId);
    }

    /// <summary>An SMTP client connected over STARTTLS (the server's own certificate) and logged in.</summary>
    public async Task<SmtpClient> ConnectSmtpAsync(string username, string password)
    {
        var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 120_000 };
        await client.ConnectAsync(await ConnectNoDelayAsync(SmtpPort), "127.0.0.1", SmtpPort, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(username, password);
        return client;
    }

    /// <summary>
    /// A connected socket with Nagle off. MailKit writes the end of DATA in a small segment of its own;
    /// with Nagle on, that segment waits for the server's delayed ACK (40 ms) and the client, not the
    /// server, would be measured. (Python's smtplib sends DATA in one write and does not meet this.)
    /// </summary>
    public static async Task<Socket> ConnectNoDelayAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }

    /// <summary>This benchmark process's own resident set size now, in bytes.</summary>
    public static long OwnMemory() => Memory("self").Current;

    /// <summary>Resident set size now and at its peak (VmHWM), in bytes, from /proc.</summary>
    public (long Current, long Peak) Memory() => Memory(_process.Id.ToString());

    private static (long Current, long Peak) Memory(string pid)
    {
        long current = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:")) current = ParseKilobytes(line);
            else if (line.StartsWith("VmHWM:")) peak = ParseKilobytes(line);
        }
        return (current, peak);
    }

    private static long ParseKilobytes(string line) =>
        long.Parse(line.Split(':', StringSplitOptions.TrimEntries)[1].Split(' ')[0]) * 1024;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}
