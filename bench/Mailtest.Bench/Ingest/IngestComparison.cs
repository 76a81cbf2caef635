using System.Globalization;
using MimeKit;

namespace Mailtest.Bench.Ingest;

/// <summary>
/// Mailtest side by side with MailDev, smtp4dev, the bare STARTTLS + AUTH sink and its own engine alone,
/// in one run on one machine: for each body kind, fresh servers, then for each connection count several
/// rounds in which every server runs once, in an order that alternates (forward, then backward), so
/// drift on a shared machine falls on all of them alike. Each figure is the median of its rounds.
/// </summary>
public static class IngestComparison
{
    public sealed record Options(
        IReadOnlyList<string> Bodies, IReadOnlyList<int> Connections, int Rounds, TimeSpan Duration, TimeSpan WarmUp,
        string MailtestApp, string? MailDevScript, string? Smtp4devExecutable, string? DotnetCounters, IReadOnlySet<string> Servers,
        string? BaselineApp = null);

    /// <summary>The name of a second Mailtest build run beside the first (<c>--baseline PATH/Mailtest.Web.dll</c>): an A/B of two builds in one run.</summary>
    public const string BaselineName = "Mailtest baseline";

    /// <summary>The benchmark organization's plan (Agency) caps at 100,000 messages: five rounds at 2,000 msg/s pass that,
    /// and the cap's 452 would end the run. Far away, as for the purge benchmark.</summary>
    private static readonly Dictionary<string, string> CapsFarAway = new()
    {
        ["Mailtest__Plans__Agency__MessageCap"] = "100000000",
        ["Mailtest__Plans__Agency__StorageCapBytes"] = "1000000000000",
    };

    public const string MailtestServer = "mailtest", MailDevServer = "maildev", Smtp4devServer = "smtp4dev", SinkServer = "sink", EngineServer = "engine";

    private sealed record Run(string Server, IngestBenchmark.Result Result, WriterFigures? Writer);

    public static async Task RunAsync(Options options, TextWriter output)
    {
        output.WriteLine($"# SMTP ingest side by side ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)");
        output.WriteLine();
        output.WriteLine($"{options.Rounds} alternating rounds of {options.Duration.TotalSeconds:F0} s per server and connection count (after a {options.WarmUp.TotalSeconds:F0} s warm-up in the first round); medians of the rounds.");
        foreach (var body in options.Bodies)
        {
            var messages = IngestBodies.Pool(body, 200);
            var averageBytes = messages.Average(m => { using var s = new MemoryStream(); m.WriteTo(s); return s.Length; });
            await using var servers = await Servers.StartAsync(options);
            foreach (var connections in options.Connections)
            {
                var runs = new List<Run>();
                for (var round = 0; round < options.Rounds; round++)
                {
                    var order = round % 2 == 0 ? servers.Targets : [.. servers.Targets.AsEnumerable().Reverse()];
                    foreach (var target in order)
                    {
                        if (round == 0)
                            await IngestBenchmark.RunAsync(target, messages, connections, options.WarmUp);
                        await using var counters = target.Name is "Mailtest" or BaselineName && options.DotnetCounters is { } tool
                            ? WriterCounters.Start(tool, target.ProcessId, options.Duration)
                            : null;
                        var result = await IngestBenchmark.RunAsync(target, messages, connections, options.Duration);
                        var writer = counters is null ? null : await counters.ReadAsync();
                        runs.Add(new Run(target.Name, result, writer));
                        Console.Error.WriteLine($"[{body} {connections}c round {round + 1}] {target.Name}: {result.PerSecond:F0} msg/s, {result.CpuMsPerMessage:F3} CPU ms/msg (client {result.ClientCpuMsPerMessage:F3})");
                    }
                }
                Print(output, body, averageBytes, connections, servers.Targets, runs);
            }
        }
    }

    private static void Print(TextWriter output, string body, double averageBytes, int connections, IReadOnlyList<IngestTarget> targets, List<Run> runs)
    {
        double MedianOf(string server, Func<Run, double> value) => WriterCounters.Median([.. runs.Where(r => r.Server == server).Select(value)]);
        var mailDev = MedianOf("MailDev", r => r.Result.PerSecond); // NaN (printed as such) when not run
        var sink = MedianOf("bare sink", r => r.Result.PerSecond);
        output.WriteLine();
        output.WriteLine($"## {body} body (~{averageBytes / 1024:F1} KB), {connections} connection{(connections == 1 ? "" : "s")}");
        output.WriteLine();
        output.WriteLine("| server | msg/s (median) | each round | p50 ms | p99 ms | server CPU ms/msg | client CPU ms/msg | × MailDev | × sink |");
        output.WriteLine("|---|---:|---|---:|---:|---:|---:|---:|---:|");
        foreach (var target in targets)
        {
            var rate = MedianOf(target.Name, r => r.Result.PerSecond);
            var rounds = string.Join(", ", runs.Where(r => r.Server == target.Name).Select(r => r.Result.PerSecond.ToString("F0", CultureInfo.InvariantCulture)));
            output.WriteLine($"| {target.Name} | {rate:F0} | {rounds} | {MedianOf(target.Name, r => r.Result.P50Ms):F2} | {MedianOf(target.Name, r => r.Result.P99Ms):F2} | " +
                             $"{MedianOf(target.Name, r => r.Result.CpuMsPerMessage):F3} | {MedianOf(target.Name, r => r.Result.ClientCpuMsPerMessage):F3} | {rate / mailDev:F2} | {rate / sink:F2} |");
        }
        foreach (var mailtest in new[] { "Mailtest", BaselineName })
        {
            var writer = runs.Where(r => r.Server == mailtest && r.Writer is not null).Select(r => r.Writer!).ToList();
            if (writer.Count > 0)
                output.WriteLine($"\n{mailtest}'s ingest writer: {WriterCounters.Median([.. writer.Select(w => w.CommitsPerSecond)]):F0} commits/s, " +
                                 $"messages per commit p50 {WriterCounters.Median([.. writer.Select(w => w.BatchP50)]):F1}, p95 {WriterCounters.Median([.. writer.Select(w => w.BatchP95)]):F1} " +
                                 "(medians of one-second intervals, from its Mailtest.Ingest meter); " +
                                 $"search lag behind the commits: median {WriterCounters.Median([.. writer.Select(w => w.SearchLagP50Ms)]):F0} ms, largest {writer.Max(w => w.SearchLagMaxMs):F0} ms " +
                                 "(the oldest committed message not yet searchable, sampled once a second during the measured rounds).");
        }
        // An A/B: the two builds' rounds paired (each round ran both, one right after the other), since the machine's
        // drift from round to round is larger than most changes measured.
        var (builds, baselines) = (runs.Where(r => r.Server == "Mailtest").ToList(), runs.Where(r => r.Server == BaselineName).ToList());
        if (builds.Count > 0 && builds.Count == baselines.Count)
        {
            var differences = builds.Zip(baselines, (a, b) => (a.Result.CpuMsPerMessage - b.Result.CpuMsPerMessage) * 1000).ToList();
            output.WriteLine($"\nMailtest − {BaselineName}, server CPU per message in each round: " +
                             string.Join(", ", differences.Select(d => d.ToString("+0;−0", CultureInfo.InvariantCulture))) +
                             $" µs; median of the differences **{WriterCounters.Median([.. differences]).ToString("+0;−0", CultureInfo.InvariantCulture)} µs/msg**.");
        }
    }

    /// <summary>The servers of one body kind, started fresh (Mailtest with an empty database).</summary>
    private sealed class Servers : IAsyncDisposable
    {
        private readonly List<IAsyncDisposable> _owned = [];
        public List<IngestTarget> Targets { get; } = [];

        public static async Task<Servers> StartAsync(Options options)
        {
            var servers = new Servers();
            try
            {
                if (options.Servers.Contains(MailtestServer))
                {
                    var mailtest = await MailtestProcess.StartAsync(options.MailtestApp, CapsFarAway);
                    servers._owned.Add(mailtest);
                    var (username, password, _) = await mailtest.CreateSendingEnvironmentAsync();
                    servers.Targets.Add(new IngestTarget("Mailtest", mailtest.SmtpPort, true, username, password, mailtest.ProcessId));
                }
                if (options.BaselineApp is { } baselineApp)
                {
                    var baseline = await MailtestProcess.StartAsync(baselineApp, CapsFarAway);
                    servers._owned.Add(baseline);
                    var (username, password, _) = await baseline.CreateSendingEnvironmentAsync();
                    servers.Targets.Add(new IngestTarget(BaselineName, baseline.SmtpPort, true, username, password, baseline.ProcessId));
                }
                if (options.Servers.Contains(MailDevServer))
                    servers.Add(await ComparedServer.MailDevAsync(options.MailDevScript ?? throw new ArgumentException("--maildev PATH/maildev.js is needed for MailDev")));
                if (options.Servers.Contains(Smtp4devServer))
                    servers.Add(await ComparedServer.Smtp4devAsync(options.Smtp4devExecutable ?? throw new ArgumentException("--smtp4dev PATH/smtp4dev is needed for smtp4dev")));
                if (options.Servers.Contains(SinkServer))
                    servers.Add(await ComparedServer.SinkAsync());
                if (options.Servers.Contains(EngineServer))
                    servers.Add(await ComparedServer.EngineAloneAsync());
                return servers;
            }
            catch
            {
                await servers.DisposeAsync();
                throw;
            }
        }

        private void Add(ComparedServer server)
        {
            _owned.Add(server);
            Targets.Add(server.Target);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var owned in _owned)
                await owned.DisposeAsync();
        }
    }
}
