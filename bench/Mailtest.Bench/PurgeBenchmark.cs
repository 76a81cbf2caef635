using System.Diagnostics;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace Mailtest.Bench;

/// <summary>
/// The retention purge of a large backlog while 8 connections keep sending: how long it takes, and what
/// ingest throughput and p99 latency look like during the purge compared with just before it. The purge
/// runs through <c>admin purge run</c> with a 0-day retention window (so everything received before it
/// starts goes), against the same database the server is writing to.
/// </summary>
public static class PurgeBenchmark
{
    public sealed record Window(int Messages, double Seconds, double PerSecond, double P99Ms);
    public sealed record Result(int Seeded, double SeedPerSecond, long PurgedMessages, double PurgeSeconds, Window Before, Window During,
        long FileBytesBefore, long FileBytesAfter);

    public static async Task<Result> RunAsync(MailtestProcess server, int messages, int connections, int messageBytes, TimeSpan baseline)
    {
        var organization = await server.AdminAsync("org", "create", "Bench", "--plan", "Agency");
        var organizationId = organization.GetProperty("id").GetString()!;
        var project = await server.AdminAsync("project", "create", organizationId, "Bench project");
        var environment = await server.AdminAsync("env", "create", project.GetProperty("id").GetString()!, "staging", "--kind", "staging");
        var credential = await server.AdminAsync("credentials", "issue", environment.GetProperty("id").GetString()!);
        var (username, password) = (credential.GetProperty("username").GetString()!, credential.GetProperty("password").GetString()!);
        // One message per connection: a MimeMessage is not safe to write from several connections at once.

        var seeding = Stopwatch.StartNew();
        var remaining = messages;
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
        {
            var message = IngestBenchmark.BuildMessage(messageBytes);
            using var client = await server.ConnectSmtpAsync(username, password);
            while (Interlocked.Decrement(ref remaining) >= 0) await client.SendAsync(message);
            await client.DisconnectAsync(quit: true);
        }));
        var seedPerSecond = messages / seeding.Elapsed.TotalSeconds;
        var before = FileBytes(server);

        // Senders keep going through the baseline window, the purge, and a moment after.
        var sent = new List<(TimeSpan At, double Ms)>[connections];
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var senders = Task.WhenAll(Enumerable.Range(0, connections).Select(async index =>
        {
            var mine = sent[index] = new List<(TimeSpan, double)>(100_000);
            var message = IngestBenchmark.BuildMessage(messageBytes);
            using var client = await server.ConnectSmtpAsync(username, password);
            while (!stop.IsCancellationRequested)
            {
                var started = clock.Elapsed;
                await client.SendAsync(message);
                mine.Add((clock.Elapsed, (clock.Elapsed - started).TotalMilliseconds));
            }
            await client.DisconnectAsync(quit: true);
        }));
        await Task.Delay(baseline);
        var purgeCalledAt = clock.Elapsed;
        var report = await server.AdminAsync(new Dictionary<string, string> { ["Mailtest__Plans__Agency__RetentionDays"] = "0" },
            "purge", "run", "--org", organizationId);
        var purgeSeconds = (report.GetProperty("finishedUtc").GetDateTime() - report.GetProperty("startedUtc").GetDateTime()).TotalSeconds;
        // The admin process starts up before it purges: the purge window is the report's own duration, ending now.
        var purgeEnd = clock.Elapsed;
        var purgeStart = purgeEnd - TimeSpan.FromSeconds(purgeSeconds);
        await Task.Delay(TimeSpan.FromSeconds(1));
        await stop.CancelAsync();
        await senders;

        var all = sent.SelectMany(s => s).ToList();
        return new Result(messages, seedPerSecond, report.GetProperty("messages").GetInt64(), purgeSeconds,
            WindowOf(all, TimeSpan.FromSeconds(1), purgeCalledAt), WindowOf(all, purgeStart, purgeEnd), before, FileBytes(server));
    }

    private static Window WindowOf(List<(TimeSpan At, double Ms)> sent, TimeSpan from, TimeSpan to)
    {
        var inside = sent.Where(s => s.At >= from && s.At < to).Select(s => s.Ms).Order().ToArray();
        var seconds = (to - from).TotalSeconds;
        return new Window(inside.Length, seconds, inside.Length / seconds, IngestBenchmark.Percentile(inside, 0.99));
    }

    /// <summary>The SQLite file and its write-ahead log.</summary>
    private static long FileBytes(MailtestProcess server) =>
        new[] { "mailtest.db", "mailtest.db-wal" }.Select(f => Path.Combine(server.DataDirectory, f)).Where(File.Exists).Sum(f => new FileInfo(f).Length);
}
