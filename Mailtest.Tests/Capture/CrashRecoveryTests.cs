using Mailtest.Tests.Infrastructure;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Tests.Data;
using Mailtest.Web.Admin;
using MimeKit;

namespace Mailtest.Tests.Capture;

/// <summary>
/// The promise behind 250: the built app is killed with SIGKILL while several clients send; after a
/// restart every message that was acknowledged is there and its raw content opens.
/// </summary>
[TestCategory(Needs.Host)]
public sealed class CrashRecoveryTests : IAsyncDisposable
{
    private const int Senders = 4;
    private const int AcknowledgedBeforeKill = 40;
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-crash-{Guid.NewGuid():N}");

    [Fact]
    public async Task Every_message_acknowledged_with_250_survives_kill_minus_9()
    {
        var (environmentId, username, password) = await SetUpEnvironmentAsync();
        var acknowledged = new ConcurrentDictionary<Guid, string>();

        var smtpPort = FreePort();
        var app = StartApp(smtpPort);
        try
        {
            await WaitForPortAsync(smtpPort, app);
            var senders = Enumerable.Range(0, Senders).Select(sender => Task.Run(async () =>
            {
                try
                {
                    using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15_000 };
                    await client.ConnectAsync("127.0.0.1", smtpPort, SecureSocketOptions.StartTls);
                    await client.AuthenticateAsync(username, password);
                    for (var i = 0; i < 1_000; i++) // until the kill, in practice
                    {
                        var subject = $"sender {sender} message {i}";
                        var response = await client.SendAsync(Message(subject));
                        acknowledged[Guid.Parse(Regex.Match(response, "queued as ([0-9a-f]{32})").Groups[1].Value)] = subject;
                    }
                }
                catch (Exception error) when (error is IOException or SmtpCommandException or SmtpProtocolException or SocketException or ServiceNotConnectedException)
                {
                    // The server died under us: what was not acknowledged may be lost, nothing else.
                }
            })).ToList();

            await WaitUntilAsync(() => acknowledged.Count >= AcknowledgedBeforeKill || senders.All(s => s.IsCompleted));
            Assert.True(acknowledged.Count >= AcknowledgedBeforeKill, $"only {acknowledged.Count} messages were acknowledged");
            Assert.Contains(senders, s => !s.IsCompleted); // still sending when the kill comes
            app.Kill(entireProcessTree: true); // SIGKILL, mid-stream
            await app.WaitForExitAsync();
            await Task.WhenAll(senders).WaitAsync(TimeSpan.FromMinutes(1));
        }
        finally
        {
            if (!app.HasExited) app.Kill(entireProcessTree: true);
            app.Dispose();
        }

        // Restart: the app starts on the crashed data and takes mail again.
        var restartPort = FreePort();
        using (var restarted = StartApp(restartPort))
        {
            try
            {
                await WaitForPortAsync(restartPort, restarted);
                using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15_000 };
                await client.ConnectAsync("127.0.0.1", restartPort, SecureSocketOptions.StartTls);
                await client.AuthenticateAsync(username, password);
                var response = await client.SendAsync(Message("after the restart"));
                Assert.Contains("queued as", response);
                await client.DisconnectAsync(quit: true);
            }
            finally { restarted.Kill(entireProcessTree: true); await restarted.WaitForExitAsync(); }
        }

        await using var core = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: _dataDirectory);
        var store = core.Get<IMessageStore>();
        var stored = (await store.ListAsync(new MessageListQuery([environmentId], PageSize: MessageStore.MaxPageSize))).Items.ToDictionary(m => m.Id);
        foreach (var (id, subject) in acknowledged)
        {
            Assert.True(stored.TryGetValue(id, out var summary), $"acknowledged message {id} ({subject}) is missing");
            Assert.Equal(subject, summary.Subject);
            await using var raw = await store.OpenRawAsync(id, [environmentId]);
            Assert.Equal(subject, (await MimeMessage.LoadAsync(raw!)).Subject);
        }
        Assert.Contains(stored.Values, m => m.Subject == "after the restart");
    }

    private static MimeMessage Message(string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("odoo@shop.example"));
        message.To.Add(MailboxAddress.Parse("customer@example.com"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = string.Join("\n", Enumerable.Repeat("Order lines and totals.", 200)) };
        return message;
    }

    private async Task<(Guid EnvironmentId, string Username, string Password)> SetUpEnvironmentAsync()
    {
        async Task<JsonElement> Admin(params string[] args)
        {
            using var stdout = new MemoryStream();
            using var stderr = new StringWriter();
            var exitCode = await AdminCommandLine.RunAsync(["admin", .. args, "--json", "--data-dir", _dataDirectory], stdout, stderr);
            Assert.True(exitCode == 0, stderr.ToString());
            return JsonDocument.Parse(stdout.ToArray()).RootElement;
        }
        var org = await Admin("org", "create", "Crash Co", "--plan", "Agency");
        var project = await Admin("project", "create", org.GetProperty("id").GetString()!, "Shop");
        var environment = await Admin("env", "create", project.GetProperty("id").GetString()!, "staging", "--kind", "staging");
        var environmentId = environment.GetProperty("id").GetGuid();
        var credential = await Admin("credentials", "issue", environmentId.ToString());
        return (environmentId, credential.GetProperty("username").GetString()!, credential.GetProperty("password").GetString()!);
    }

    private Process StartApp(int smtpPort)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Mailtest.Web.dll"));
        start.Environment["Mailtest__Data__Directory"] = _dataDirectory;
        start.Environment["Mailtest__Web__Address"] = "127.0.0.1";
        start.Environment["Mailtest__Web__Port"] = FreePort().ToString();
        start.Environment["Mailtest__Smtp__Address"] = "127.0.0.1";
        start.Environment["Mailtest__Smtp__Port"] = smtpPort.ToString();
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start)!;
        // Drain the pipes so the app never blocks on a full one.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForPortAsync(int port, Process app)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (true)
        {
            Assert.False(app.HasExited, $"the app exited with {(app.HasExited ? app.ExitCode : 0)} before listening");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
                return;
            }
            catch (SocketException) { await Task.Delay(100, timeout.Token); }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (!condition()) await Task.Delay(10, timeout.Token);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return ValueTask.CompletedTask;
    }
}
