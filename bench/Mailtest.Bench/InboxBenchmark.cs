using System.Diagnostics;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mailtest.Bench;

/// <summary>
/// The inbox at scale: seeds one environment with N messages through the real ingest path (MimeKit
/// summary, sealing, full-text index, batching writer), then measures what the inbox asks the store
/// for: the first page, and searches of every kind (p50/p95 over repeated runs).
/// </summary>
public static class InboxBenchmark
{
    /// <param name="CpuP50Ms">CPU time of this process per query (median): on SQLite all the work, on PostgreSQL the client's share only.
    /// On a shared machine it shows the work done where wall-clock times also show waiting for a core.</param>
    /// <param name="FirstMs">The kind's first query after the start, untimed in the percentiles: it compiles the query
    /// (EF Core, JIT), a cost a running server pays once per kind.</param>
    public sealed record Timing(string Name, double P50Ms, double P95Ms, double CpuP50Ms, int Hits, double FirstMs);

    /// <summary>
    /// Untimed passes over every kind before the timed repetitions. One is not enough: the second first-page
    /// query took 40-60 ms and the third 1 ms, most likely because the runtime recompiles hot methods in the
    /// background shortly after they first run (tiered JIT), and on two cores the query waits for that compiler.
    /// </summary>
    private const int WarmUpPasses = 3;

    private static readonly string[] Vocabulary =
    [
        "invoice", "quotation", "delivery", "password", "reset", "welcome", "order", "payment", "reminder", "subscription",
        "renewal", "shipment", "refund", "contract", "meeting", "newsletter", "survey", "ticket", "account", "confirmation",
    ];

    /// <summary>How the seeding went: messages/s through ingest, and how far search lagged the commits (sampled every 100 ms).</summary>
    public sealed record Seeding(int Messages, double PerSecond, double LagP50Ms, double LagP95Ms, double LagMaxMs, bool Reused);

    private sealed record SeededEnvironment(Guid OrganizationId, Guid EnvironmentId, int Messages, double PerSecond, double LagP50Ms, double LagP95Ms, double LagMaxMs);

    /// <param name="keptSeedFile">Where a seeded environment is remembered, so a kept database is seeded once and reused.</param>
    public static async Task<(Seeding Seeding, IReadOnlyList<Timing> Timings)> RunAsync(int messages, IDictionary<string, string?> settings, int repetitions, string? keptSeedFile)
    {
        var builder = MailtestHost.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        await using var app = builder.Build();
        var migrating = Stopwatch.StartNew();
        await app.Services.MigrateDatabaseAsync();
        // A kept database from an older Mailtest is upgraded here (a rebuilt search index shows up in this time).
        Console.Error.WriteLine($"Database migrated in {migrating.Elapsed.TotalSeconds:F1} s.");

        var seeded = keptSeedFile is not null && File.Exists(keptSeedFile)
            ? System.Text.Json.JsonSerializer.Deserialize<SeededEnvironment>(await File.ReadAllTextAsync(keptSeedFile))
            : null;
        var reused = seeded is not null;
        if (seeded is null || seeded.Messages != messages)
        {
            var tenancy = app.Services.GetRequiredService<TenancyAdministration>();
            var organization = await tenancy.CreateOrganizationAsync($"Bench {Guid.NewGuid():N}", Plan.Agency);
            var project = await tenancy.CreateProjectAsync(organization.Id, "Bench");
            var environment = await tenancy.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
            var (perSecond, lag) = await SeedAsync(app.Services.GetRequiredService<MessageIngest>(), app.Services.GetRequiredService<IngestWriter>(), organization.Id, environment.Id, messages);
            seeded = new SeededEnvironment(organization.Id, environment.Id, messages, perSecond,
                IngestBenchmark.Percentile(lag, 0.50), IngestBenchmark.Percentile(lag, 0.95), lag.Length == 0 ? 0 : lag[^1]);
            reused = false;
            if (keptSeedFile is not null) await File.WriteAllTextAsync(keptSeedFile, System.Text.Json.JsonSerializer.Serialize(seeded));
        }
        // A word common in another environment and found in none of the measured one's messages: it
        // must be answered from the index, not by walking the measured environment.
        var elsewhereFile = keptSeedFile is null ? null : keptSeedFile + ".elsewhere";
        if (elsewhereFile is null || !File.Exists(elsewhereFile))
        {
            var tenancy = app.Services.GetRequiredService<TenancyAdministration>();
            var project = await tenancy.CreateProjectAsync(seeded.OrganizationId, "Elsewhere");
            var other = await tenancy.CreateEnvironmentAsync(project.Id, "other", EnvironmentKind.Staging);
            await SeedAsync(app.Services.GetRequiredService<MessageIngest>(), app.Services.GetRequiredService<IngestWriter>(), seeded.OrganizationId, other.Id, ElsewhereMessages, ElsewhereWord);
            if (elsewhereFile is not null) await File.WriteAllTextAsync(elsewhereFile, other.Id.ToString());
        }
        // Timed only once the full-text index has caught up (on SQLite a missing index file, as after the
        // upgrade that moved it out of mailtest.db, is rebuilt from the stored text in the background).
        var catchingUp = Stopwatch.StartNew();
        await app.Services.GetRequiredService<IngestWriter>().WaitUntilSearchableAsync();
        Console.Error.WriteLine($"Search index current {catchingUp.Elapsed.TotalSeconds:F1} s after the migration and seeding.");
        // After a large catch-up the index loop merges the index once: not timed beside the queries either.
        await app.Services.GetRequiredService<IngestWriter>().WaitUntilIndexCurrentAsync();
        Console.Error.WriteLine($"Search index merged {catchingUp.Elapsed.TotalSeconds:F1} s after the migration and seeding.");

        var store = app.Services.GetRequiredService<IMessageStore>();
        IReadOnlyCollection<Guid> environments = [seeded.EnvironmentId];
        var queries = new (string Name, string? Search)[]
        {
            ("first page (no search)", null),
            ("word: invoice", "invoice"),
            ("rare word: sender0042", "sender0042"),
            ("phrase: \"payment reminder\"", "\"payment reminder\""),
            ("from:sender0007", "from:sender0007"),
            ("to:customer0199", "to:customer0199"),
            ("subject:refund", "subject:refund"),
            ("is:unread", "is:unread"),
            ("has:attachment", "has:attachment"),
            ("invoice -subject:refund", "invoice -subject:refund"),
            ("after:2000-01-01 order", "after:2000-01-01 order"),
            ("no match: zzzqqq", "zzzqqq"),
            ($"only elsewhere: {ElsewhereWord} ({ElsewhereMessages:N0} in another environment)", ElsewhereWord),
        };
        var firstMs = new double[queries.Length];
        for (var pass = 0; pass < WarmUpPasses; pass++)
            for (var q = 0; q < queries.Length; q++)
            {
                var started = Stopwatch.GetTimestamp();
                await store.ListAsync(new MessageListQuery(environments, queries[q].Search));
                if (pass == 0) firstMs[q] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        var timings = new List<Timing>();
        foreach (var (name, search) in queries)
        {
            var samples = new double[repetitions];
            var cpu = new double[repetitions];
            var hits = 0;
            using var process = Process.GetCurrentProcess();
            for (var i = 0; i < repetitions; i++)
            {
                process.Refresh();
                var cpuBefore = process.TotalProcessorTime;
                var started = Stopwatch.GetTimestamp();
                var page = await store.ListAsync(new MessageListQuery(environments, search));
                samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                process.Refresh();
                cpu[i] = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds;
                hits = page.Items.Count;
            }
            // Every sample in order, on stderr: which repetition was slow (the first, cold one, or one hit by the machine's load) shows there.
            Console.Error.WriteLine($"[{name}] samples ms: {string.Join(' ', samples.Select(s => s.ToString("F1")))}");
            Array.Sort(samples);
            Array.Sort(cpu);
            timings.Add(new Timing(name, IngestBenchmark.Percentile(samples, 0.50), IngestBenchmark.Percentile(samples, 0.95), IngestBenchmark.Percentile(cpu, 0.50), hits, firstMs[timings.Count]));
            Console.Error.WriteLine($"[{name}] p50 {timings[^1].P50Ms:F1} ms, p95 {timings[^1].P95Ms:F1} ms");
        }
        return (new Seeding(seeded.Messages, seeded.PerSecond, seeded.LagP50Ms, seeded.LagP95Ms, seeded.LagMaxMs, reused), timings);
    }

    private const string ElsewhereWord = "elsewhereonly";
    private const int ElsewhereMessages = 5_000;

    private static async Task<(double PerSecond, double[] SortedLagMs)> SeedAsync(MessageIngest ingest, IngestWriter writer, Guid organizationId, Guid environmentId, int count, string? word = null)
    {
        // A thousand distinct templates, reused: every message still goes through the whole ingest path.
        var directory = Path.Combine(Path.GetTempPath(), $"mailtest-bench-seed-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var templates = Enumerable.Range(0, 1000).Select(i => WriteTemplate(directory, i, word)).ToArray();
        var started = Stopwatch.GetTimestamp();
        var next = -1;
        // Search lag: how long until everything committed at a given moment is searchable.
        var lagSamples = new List<double>();
        using var seeding = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!seeding.IsCancellationRequested)
            {
                var asked = Stopwatch.GetTimestamp();
                await writer.WaitUntilSearchableAsync();
                lagSamples.Add(Stopwatch.GetElapsedTime(asked).TotalMilliseconds);
                try { await Task.Delay(100, seeding.Token); } catch (OperationCanceledException) { }
            }
        });
        await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var template = templates[i % templates.Length];
                await ingest.IngestAsync(new IngestRequest(organizationId, environmentId, template.Sender, [template.Recipient], Mailtest.Smtp.SpooledMessage.FromFile(template.Path)));
                if (i % 50_000 == 0 && i > 0) Console.Error.WriteLine($"seeded {i:N0}");
            }
        }));
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await seeding.CancelAsync();
        await sampler;
        Directory.Delete(directory, recursive: true);
        var lag = lagSamples.ToArray();
        Array.Sort(lag);
        return (count / seconds, lag);
    }

    private static (string Path, string Sender, string Recipient) WriteTemplate(string directory, int index, string? word)
    {
        var random = new Random(index);
        string Words(int n) => string.Join(' ', Enumerable.Range(0, n).Select(_ => Vocabulary[random.Next(Vocabulary.Length)]));
        var sender = $"sender{index % 100:D4}@shop.example";
        var recipient = $"customer{index % 500:D4}@client.example";
        var subject = $"Your {Words(2)} #{index}";
        var body = $"Hello,\r\n\r\n{Words(60)}{(word is null ? "" : " " + word)}\r\n\r\nRegards,\r\nThe shop";
        var attachment = index % 10 == 0
            ? "--b\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\nContent-Disposition: attachment; filename=\"doc.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
            : "";
        var eml =
            $"From: Shop <{sender}>\r\nTo: <{recipient}>\r\nSubject: {subject}\r\nMessage-ID: <{index}@shop.example>\r\n" +
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" +
            $"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n{attachment}--b--\r\n";
        var path = Path.Combine(directory, $"{index}.eml");
        File.WriteAllText(path, eml);
        return (path, sender, recipient);
    }
}
