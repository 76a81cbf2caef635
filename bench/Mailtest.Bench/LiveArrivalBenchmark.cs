using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailtest.Bench.Ingest;
using Microsoft.Playwright;
using MimeKit;

namespace Mailtest.Bench;

/// <summary>
/// Live arrival: the time from a message's <c>250</c> (as the sending client receives it) to its
/// Server-Sent Event (read by an API client with an environment token) and to its row in an inbox
/// open in Chromium on that environment (the Blazor page, signed in as the organization's owner; a
/// MutationObserver notes when the row appears). Probe messages, one at a time, first on an idle
/// server, then while other connections send realistic mail back to back into the same environment,
/// then into another environment of the same organization. All clocks are this machine's wall clock.
/// </summary>
/// <remarks>
/// When the load goes to the probe's own environment, the newest rows change faster than anyone can
/// read them, and a probe may be pushed below the rows drawn before a render shows it. So besides the
/// rows drawn, each probe's "inbox current" time is measured: from its 250 until the list shows it or
/// any newer message (message ids are version 7 GUIDs, which begin with their creation time in ms).
/// </remarks>
public static class LiveArrivalBenchmark
{
    /// <param name="SseMs">From the 250 to the SSE event, for the probes whose event came.</param>
    /// <param name="RowMs">From the 250 to the row drawn, for the probes whose row was drawn.</param>
    /// <param name="CurrentMs">From the 250 until the list showed the probe or newer mail.</param>
    public sealed record Phase(string Name, int Probes, int SseMissed, int RowsNotDrawn, int NeverCurrent, double[] SseMs, double[] RowMs, double[] CurrentMs,
        double LoadPerSecond, string LoadAverage);

    private const string ProbePrefix = "Live probe ";
    private const string MemberPassword = "bench password for the inbox";

    public static async Task<IReadOnlyList<Phase>> RunAsync(string appPath, string chromium, int loadConnections, TimeSpan duration, TimeSpan probeInterval)
    {
        await using var server = await MailtestProcess.StartAsync(appPath);
        var organization = await server.AdminAsync("org", "create", "Bench", "--plan", "Agency");
        var organizationId = organization.GetProperty("id").GetString()!;
        var project = await server.AdminAsync("project", "create", organizationId, "Bench project");
        var environmentId = (await server.AdminAsync("env", "create", project.GetProperty("id").GetString()!, "staging", "--kind", "staging")).GetProperty("id").GetString()!;
        var credential = await server.AdminAsync("credentials", "issue", environmentId);
        var (username, password) = (credential.GetProperty("username").GetString()!, credential.GetProperty("password").GetString()!);
        // Another environment of the same organization, for load the open inbox does not show.
        var otherId = (await server.AdminAsync("env", "create", project.GetProperty("id").GetString()!, "load", "--kind", "staging")).GetProperty("id").GetString()!;
        var otherCredential = await server.AdminAsync("credentials", "issue", otherId);
        var (otherUsername, otherPassword) = (otherCredential.GetProperty("username").GetString()!, otherCredential.GetProperty("password").GetString()!);
        const string email = "reader@bench.example";
        await server.AdminAsync("user", "create", email, "--password", MemberPassword);
        await server.AdminAsync("member", "add", organizationId, email, "--role", "owner");
        var token = (await server.AdminAsync("token", "create", "--environment", environmentId, "--scope", "read")).GetProperty("token").GetString()!;

        // SSE: an API client on the environment's event stream.
        var sseSeen = new ConcurrentDictionary<string, DateTime>();
        var probeIds = new ConcurrentDictionary<string, string>();
        using var stopSse = new CancellationTokenSource();
        using var http = new HttpClient { BaseAddress = server.WebAddress, Timeout = Timeout.InfiniteTimeSpan };
        var ready = new TaskCompletionSource();
        var sse = Task.Run(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/environments/{environmentId}/events");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stopSse.Token);
            response.EnsureSuccessStatusCode();
            await using var stream = await response.Content.ReadAsStreamAsync(stopSse.Token);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(stopSse.Token))
            {
                var now = DateTime.UtcNow;
                if (item.EventType == "ready") ready.TrySetResult();
                if (item.EventType != "captured") continue;
                using var json = JsonDocument.Parse(item.Data);
                if (json.RootElement.TryGetProperty("message", out var message) && message.TryGetProperty("subject", out var subject)
                    && subject.GetString() is { } text && text.StartsWith(ProbePrefix, StringComparison.Ordinal))
                {
                    sseSeen.TryAdd(text, now);
                    probeIds.TryAdd(text, message.GetProperty("id").GetString()!);
                }
            }
        });
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The Blazor inbox, signed in, with an observer noting when each probe's row appears (wall-clock ms).
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new() { Width = 1400, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(server.WebAddress, "signin?returnUrl=%2Fdashboard%2Fmailtest").ToString());
        await page.Locator("#email").FillAsync(email);
        await page.Locator("#password").FillAsync(MemberPassword);
        await page.Locator("button[type=submit]").ClickAsync();
        await page.Locator("#inbox[data-interactive=true]").WaitForAsync(new() { Timeout = 60_000 });
        // The inbox shows the probe's environment only (as a reader watching one environment would).
        await page.Locator("#inbox-environment").SelectOptionAsync(environmentId);
        await page.EvaluateAsync($$"""
            () => {
                window.probeRows = {};
                window.newestShown = []; // [when, creation ms of the newest row drawn], each time it moves on
                const note = () => {
                    const now = performance.timeOrigin + performance.now();
                    for (const subject of document.querySelectorAll('.inbox-message__subject')) {
                        const text = subject.textContent;
                        if (text.startsWith('{{ProbePrefix}}') && !(text in window.probeRows)) window.probeRows[text] = now;
                    }
                    let newest = 0;
                    for (const row of document.querySelectorAll('.inbox-message[data-message-id]')) {
                        const id = row.getAttribute('data-message-id');
                        newest = Math.max(newest, parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
                    }
                    const last = window.newestShown.length ? window.newestShown[window.newestShown.length - 1][1] : 0;
                    if (newest > last) window.newestShown.push([now, newest]);
                };
                new MutationObserver(note).observe(document.body, { childList: true, subtree: true, characterData: true });
            }
            """);

        var phases = new List<Phase>();
        var probeNumber = 0;
        var loadMessages = IngestBodies.Pool(IngestBodies.Realistic, 200);
        foreach (var (name, connections, loadUsername, loadPassword) in new[]
        {
            ("idle", 0, username, password),
            ($"{loadConnections} connections into the same environment", loadConnections, username, password),
            ($"{loadConnections} connections into another environment of the organization", loadConnections, otherUsername, otherPassword),
        })
        {
            var loadAverageBefore = LoadAverage();
            var load = connections == 0
                ? Task.FromResult<IngestBenchmark.Result?>(null)
                : RunLoadAsync(server, loadUsername, loadPassword, loadMessages, connections, duration + TimeSpan.FromSeconds(4));
            if (connections > 0) await Task.Delay(TimeSpan.FromSeconds(2)); // the load is running before the first probe

            var sent = new List<(string Subject, DateTime Acknowledged)>();
            using (var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
            {
                await client.ConnectAsync(await MailtestProcess.ConnectNoDelayAsync(server.SmtpPort), "127.0.0.1", server.SmtpPort, SecureSocketOptions.StartTls);
                await client.AuthenticateAsync(username, password);
                var end = DateTime.UtcNow + duration;
                while (DateTime.UtcNow < end)
                {
                    var subject = $"{ProbePrefix}{++probeNumber:D5}";
                    await client.SendAsync(Probe(subject));
                    sent.Add((subject, DateTime.UtcNow)); // the 250 has arrived
                    await Task.Delay(probeInterval);
                }
                await client.DisconnectAsync(quit: true);
            }
            await Task.Delay(TimeSpan.FromSeconds(3)); // late arrivals still count (and are seen as late)
            var loadResult = await load;

            var rows = await page.EvaluateAsync<Dictionary<string, double>>("() => window.probeRows");
            var newestShown = await page.EvaluateAsync<double[][]>("() => window.newestShown");
            Console.Error.WriteLine($"[{name}] the inbox shows {await page.Locator(".inbox-message").CountAsync()} rows, the first: " +
                $"{(await page.Locator(".inbox-message__subject").CountAsync() > 0 ? await page.Locator(".inbox-message__subject").First.TextContentAsync() : "none")}; {page.Url}");
            var sseMs = new List<double>();
            var rowMs = new List<double>();
            var currentMs = new List<double>();
            var (sseMissed, rowsNotDrawn, neverCurrent) = (0, 0, 0);
            foreach (var (subject, acknowledged) in sent)
            {
                var acknowledgedMs = (acknowledged - DateTime.UnixEpoch).TotalMilliseconds;
                if (sseSeen.TryGetValue(subject, out var sseAt)) sseMs.Add((sseAt - acknowledged).TotalMilliseconds);
                else sseMissed++;
                if (rows.TryGetValue(subject, out var rowAt)) rowMs.Add(rowAt - acknowledgedMs);
                else rowsNotDrawn++;
                // The first moment the list drew this probe or anything created after it.
                var created = probeIds.TryGetValue(subject, out var id) ? CreatedMs(id) : double.MaxValue;
                var caughtUp = newestShown.FirstOrDefault(shown => shown[1] >= created);
                if (caughtUp is not null) currentMs.Add(caughtUp[0] - acknowledgedMs);
                else neverCurrent++;
            }
            phases.Add(new Phase(name, sent.Count, sseMissed, rowsNotDrawn, neverCurrent, [.. sseMs.Order()], [.. rowMs.Order()], [.. currentMs.Order()],
                loadResult?.PerSecond ?? 0, $"{loadAverageBefore}–{LoadAverage()}"));
        }
        await stopSse.CancelAsync();
        try { await sse; } catch (OperationCanceledException) { }
        return phases;
    }

    private static async Task<IngestBenchmark.Result?> RunLoadAsync(MailtestProcess server, string username, string password, IReadOnlyList<MimeMessage> messages, int connections, TimeSpan duration) =>
        await IngestBenchmark.RunAsync(new IngestTarget("Mailtest", server.SmtpPort, true, username, password, server.ProcessId), messages, connections, duration);

    private static MimeMessage Probe(string subject)
    {
        var message = new MimeMessage { Subject = subject };
        message.From.Add(MailboxAddress.Parse("probe@bench.example"));
        message.To.Add(MailboxAddress.Parse("reader@bench.example"));
        message.Body = new TextPart("plain") { Text = "When does this appear?" };
        return message;
    }

    public static double Percentile(double[] sorted, double p) => IngestBenchmark.Percentile(sorted, p);

    /// <summary>The creation time (Unix ms) a version 7 GUID begins with.</summary>
    private static double CreatedMs(string id) => Convert.ToInt64(id[..8] + id[9..13], 16);

    /// <summary>This machine's one-minute load average, as uptime shows it.</summary>
    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];
}
