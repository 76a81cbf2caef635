using Mailtest.Bench;
using Mailtest.Bench.Ingest;

// Reproduce (from the repository root):
//   dotnet build -c Release Mailtest.Web && dotnet run -c Release --project bench/Mailtest.Bench -- smtp
//   dotnet run -c Release --project bench/Mailtest.Bench -- inbox --messages 100000
//   dotnet run -c Release --project bench/Mailtest.Bench -- ingest --maildev PATH/maildev.js --smtp4dev PATH/smtp4dev --counters PATH/dotnet-counters
//   (see docs/benchmarks.md for installing MailDev, smtp4dev and dotnet-counters outside the repository)
//   dotnet run -c Release --project bench/Mailtest.Bench -- purge --messages 100000
//   dotnet run -c Release --project bench/Mailtest.Bench -- live --connections 8   (Chromium at /usr/bin/chromium)
// Results go to stdout as a Markdown table, ready for docs/benchmarks.md.
var command = args.FirstOrDefault() ?? "smtp";
var appPath = Option("--app") ?? Path.GetFullPath("Mailtest.Web/bin/Release/net10.0/Mailtest.Web.dll");
if (command is "smtp" or "ingest" or "large" or "purge" or "wait" or "export" or "live" && !File.Exists(appPath))
{
    Console.Error.WriteLine($"{appPath} not found: run `dotnet build -c Release Mailtest.Web` first, or pass --app PATH.");
    return 2;
}

switch (command)
{
    case "smtp":
    {
        var seconds = int.Parse(Option("--seconds") ?? "20");
        var connectionCounts = (Option("--connections") ?? "1,8").Split(',').Select(int.Parse).ToArray();
        var size = int.Parse(Option("--size") ?? "10240");
        Console.WriteLine($"## SMTP ingest: {size / 1024} KB messages, STARTTLS + AUTH, {seconds} s per run, durable before 250");
        Console.WriteLine();
        Console.WriteLine("| connections | messages | messages/s | p50 ms | p99 ms | peak RSS MB |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var connections in connectionCounts)
        {
            // A fresh server per run, so one run's database does not slow the next.
            await using var server = await MailtestProcess.StartAsync(appPath);
            var (username, password, _) = await server.CreateSendingEnvironmentAsync();
            await IngestBenchmark.RunAsync(server, username, password, connections, TimeSpan.FromSeconds(2), size); // warm-up
            var r = await IngestBenchmark.RunAsync(server, username, password, connections, TimeSpan.FromSeconds(seconds), size);
            Console.WriteLine($"| {r.Connections} | {r.Messages} | {r.PerSecond:F0} | {r.P50Ms:F2} | {r.P99Ms:F2} | {r.PeakRssBytes / 1048576.0:F0} |");
        }
        Console.WriteLine();
        var count = int.Parse(Option("--large-count") ?? "4");
        var megabytes = int.Parse(Option("--large-mb") ?? "25");
        await using (var server = await MailtestProcess.StartAsync(appPath))
        {
            var (username, password, _) = await server.CreateSendingEnvironmentAsync();
            var r = await LargeMessageBenchmark.RunAsync(server, username, password, count, megabytes);
            Console.WriteLine($"## {r.Count} messages of {r.MessageBytes / 1048576.0:F1} MB at once");
            Console.WriteLine();
            Console.WriteLine("| baseline RSS MB | peak RSS MB | seconds |");
            Console.WriteLine("|---:|---:|---:|");
            Console.WriteLine($"| {r.BaselineRssBytes / 1048576.0:F0} | {r.PeakRssBytes / 1048576.0:F0} | {r.Seconds:F1} |");
        }
        return 0;
    }
    case "large":
    {
        // Large messages only (the smtp command runs them after the ingest rounds).
        var count = int.Parse(Option("--large-count") ?? "4");
        var megabytes = int.Parse(Option("--large-mb") ?? "25");
        var openMegabytes = int.Parse(Option("--open-mb") ?? "50");
        var rounds = int.Parse(Option("--rounds") ?? "3");
        Console.WriteLine($"## {count} messages of {megabytes} MB at once over SMTP, then one of {openMegabytes} MB sent and opened ({rounds} rounds, a fresh server each)");
        Console.WriteLine();
        Console.WriteLine($"| round | {count} × {megabytes} MB: baseline RSS MB | peak RSS MB | seconds | 1 × {openMegabytes} MB: server peak RSS MB | opened in: baseline RSS MB | peak RSS MB | seconds |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var round = 1; round <= rounds; round++)
        {
            await using var server = await MailtestProcess.StartAsync(appPath);
            var (username, password, environmentId) = await server.CreateSendingEnvironmentAsync();
            var r = await LargeMessageBenchmark.RunAsync(server, username, password, count, megabytes);
            var (sent, opened) = await LargeMessageBenchmark.SendAndOpenAsync(server, username, password, Guid.Parse(environmentId), openMegabytes);
            Console.WriteLine($"| {round} | {r.BaselineRssBytes / 1048576.0:F0} | {r.PeakRssBytes / 1048576.0:F0} | {r.Seconds:F1} | {sent.PeakRssBytes / 1048576.0:F0} | " +
                $"{opened.BaselineRssBytes / 1048576.0:F0} | {opened.PeakRssBytes / 1048576.0:F0} | {opened.Seconds:F1} |");
        }
        return 0;
    }
    case "ingest":
    {
        await IngestComparison.RunAsync(new IngestComparison.Options(
            Bodies: (Option("--bodies") ?? $"{IngestBodies.Realistic},{IngestBodies.Random}").Split(','),
            Connections: (Option("--connections") ?? "1,8").Split(',').Select(int.Parse).ToArray(),
            Rounds: int.Parse(Option("--rounds") ?? "3"),
            Duration: TimeSpan.FromSeconds(int.Parse(Option("--seconds") ?? "10")),
            WarmUp: TimeSpan.FromSeconds(int.Parse(Option("--warmup") ?? "3")),
            MailtestApp: appPath,
            MailDevScript: Option("--maildev"),
            Smtp4devExecutable: Option("--smtp4dev"),
            DotnetCounters: Option("--counters"),
            Servers: (Option("--servers") ?? "mailtest,maildev,smtp4dev,sink,engine").Split(',').ToHashSet(),
            BaselineApp: Option("--baseline")), Console.Out);
        return 0;
    }
    case "live":
    {
        var connections = int.Parse(Option("--connections") ?? "8");
        var seconds = int.Parse(Option("--seconds") ?? "20");
        var interval = int.Parse(Option("--probe-ms") ?? "200");
        var phases = await LiveArrivalBenchmark.RunAsync(appPath, Option("--chromium") ?? "/usr/bin/chromium", connections, TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(interval));
        Console.WriteLine($"## Live arrival: from the 250 to the SSE event and to the row in an open inbox (Chromium), a probe every {interval} ms for {seconds} s");
        Console.WriteLine();
        Console.WriteLine("| while | load avg | load msg/s | probes | SSE p50 ms | SSE p95 ms | SSE max ms | SSE missed | row drawn p50 ms | p95 ms | max ms | rows never drawn | inbox current p50 ms | p95 ms | max ms |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var p in phases)
            Console.WriteLine($"| {p.Name} | {p.LoadAverage} | {p.LoadPerSecond:F0} | {p.Probes} | {LiveArrivalBenchmark.Percentile(p.SseMs, 0.5):F0} | {LiveArrivalBenchmark.Percentile(p.SseMs, 0.95):F0} | " +
                $"{p.SseMs.LastOrDefault():F0} | {p.SseMissed} | {LiveArrivalBenchmark.Percentile(p.RowMs, 0.5):F0} | {LiveArrivalBenchmark.Percentile(p.RowMs, 0.95):F0} | {p.RowMs.LastOrDefault():F0} | {p.RowsNotDrawn} | " +
                $"{LiveArrivalBenchmark.Percentile(p.CurrentMs, 0.5):F0} | {LiveArrivalBenchmark.Percentile(p.CurrentMs, 0.95):F0} | {p.CurrentMs.LastOrDefault():F0}{(p.NeverCurrent > 0 ? $" ({p.NeverCurrent} never)" : "")} |");
        return 0;
    }
    case "sink":
    case "engine":
    {
        // Child processes of `ingest`: the bare sink and the engine alone, until killed.
        var port = int.Parse(Option("--port") ?? "2526");
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        if (command == "sink")
            await SmtpSink.RunAsync(port, stop.Token);
        else
            await EngineAlone.RunAsync(port, stop.Token);
        return 0;
    }
    case "inbox":
    {
        var messages = int.Parse(Option("--messages") ?? "100000");
        var repetitions = int.Parse(Option("--repetitions") ?? "40");
        var provider = Option("--provider") ?? "Sqlite";
        // --data-dir DIR keeps the seeded database (and, for PostgreSQL, which environment was seeded) for the next run.
        var keptDirectory = Option("--data-dir");
        var dataDirectory = keptDirectory is null ? Path.Combine(Path.GetTempPath(), $"mailtest-bench-inbox-{Guid.NewGuid():N}") : Path.GetFullPath(keptDirectory);
        Directory.CreateDirectory(dataDirectory);
        var settings = new Dictionary<string, string?>
        {
            ["Mailtest:Data:Directory"] = dataDirectory,
            ["Mailtest:Data:Provider"] = provider,
            ["Mailtest:Data:ConnectionString"] = Option("--connection-string"),
        };
        var (seeding, timings) = await InboxBenchmark.RunAsync(messages, settings, repetitions,
            keptDirectory is null ? null : Path.Combine(dataDirectory, $"bench-seed-{provider.ToLowerInvariant()}.json"));
        Console.WriteLine($"## Inbox with {messages:N0} messages in one environment ({provider}); seeded through ingest at {seeding.PerSecond:F0} messages/s" +
            $"{(seeding.Reused ? " (seeded by an earlier run, reused)" : "")}; search lag behind commits while seeding: p50 {seeding.LagP50Ms:F0} ms, p95 {seeding.LagP95Ms:F0} ms, max {seeding.LagMaxMs:F0} ms");
        Console.WriteLine();
        Console.WriteLine($"| query (first page of 50) | p50 ms | p95 ms | CPU ms p50 ({(provider == "Postgres" ? "client only" : "all")}) | hits on page | first after start ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var t in timings) Console.WriteLine($"| {t.Name} | {t.P50Ms:F1} | {t.P95Ms:F1} | {t.CpuP50Ms:F1} | {t.Hits} | {t.FirstMs:F0} |");
        if (keptDirectory is null)
            try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
        return 0;
    }
    case "index-cost":
    {
        var documents = int.Parse(Option("--documents") ?? "3000");
        var batch = int.Parse(Option("--batch") ?? "50");
        var rounds = int.Parse(Option("--rounds") ?? "3");
        var variants = IndexCostBenchmark.Variants.Where(v => Chosen(v.Name)).ToList();
        Console.WriteLine($"## The SQLite full-text index: cost per document (SQLite {SqliteVersion()}, {documents:N0} documents, {batch} per transaction, median of {rounds} alternating rounds)");
        foreach (var body in Bodies($"{IngestBodies.Random},{IngestBodies.Realistic}", "| index | CPU ms/doc | wall ms/doc | file MB | query ms (201 words) | candidates per word |"))
            foreach (var r in IndexCostBenchmark.Run(body, documents, batch, rounds, variants))
                Console.WriteLine($"| {r.Variant} | {r.CpuMsPerDocument:F3} | {r.WallMsPerDocument:F3} | {r.DatabaseMb:F1} | {r.QueryMs:F2} | {r.CandidatesPerQuery:F1} |");
        return 0;
    }
    case "compression":
    {
        var messages = int.Parse(Option("--messages") ?? "20000");
        var rounds = int.Parse(Option("--rounds") ?? "3");
        Console.WriteLine($"## Compressing one captured message, in one call ({messages:N0} messages per round, median of {rounds} alternating rounds, one thread)");
        foreach (var body in Bodies($"{IngestBodies.Realistic},{IngestBodies.Random}", "| compressor | CPU µs/msg | compressed / raw |"))
            foreach (var r in CompressionBenchmark.Run(body, messages, rounds))
                Console.WriteLine($"| {r.Compressor} | {r.MicrosecondsPerMessage:F1} | {r.Ratio:F3} |");
        return 0;
    }
    case "preparation":
    {
        var messages = int.Parse(Option("--messages") ?? "20000");
        var rounds = int.Parse(Option("--rounds") ?? "5");
        Console.WriteLine($"## Preparing one captured message for its commit, part by part ({messages:N0} messages per round, median of {rounds} alternating rounds, one thread)");
        foreach (var body in Bodies($"{IngestBodies.Realistic},{IngestBodies.Random}", "| part | CPU µs/msg |"))
            foreach (var r in PreparationBenchmark.Run(body, messages, rounds))
                Console.WriteLine($"| {r.Part} | {r.MicrosecondsPerMessage:F1} |");
        return 0;
    }
    case "disk-sync":
    {
        var syncs = int.Parse(Option("--syncs") ?? "2000");
        var rounds = int.Parse(Option("--rounds") ?? "3");
        var directory = Option("--dir") ?? Path.GetTempPath();
        Console.WriteLine($"## A commit's disk work without SQLite: 4 KB pages written, then synced ({syncs:N0} syncs per round in {directory}, median of {rounds} alternating rounds)");
        Console.WriteLine();
        Console.WriteLine("| pages per sync | CPU µs/sync | wall µs/sync |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var r in DiskSyncBenchmark.Run(directory, syncs, rounds))
            Console.WriteLine($"| {r.Variant} | {r.CpuMicroseconds:F0} | {r.WallMicroseconds:F0} |");
        return 0;
    }
    case "write-cost":
    {
        var messages = int.Parse(Option("--messages") ?? "10000");
        var rounds = int.Parse(Option("--rounds") ?? "5");
        int? perCommit = Option("--per-commit") is { } n ? int.Parse(n) : null;
        var variants = WriteCostBenchmark.Variants.Where(v => Chosen(v.Name)).ToList();
        Console.WriteLine($"## SQLite's write pattern: the ingest writer's commit per realistic message (SQLite {SqliteVersion()}, {messages:N0} messages, {(perCommit is { } each ? $"{each}" : "2 and 3")} per transaction{(perCommit is null ? " alternately" : "")}, median of {rounds} alternating rounds)");
        Console.WriteLine();
        Console.WriteLine("| variant | CPU µs/msg | wall µs/msg | WAL frames/msg | file bytes/msg |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var r in await WriteCostBenchmark.RunAsync(messages, rounds, perCommit, variants))
            Console.WriteLine($"| {r.Variant} | {r.CpuUsPerMessage:F1} | {r.WallUsPerMessage:F1} | {r.WalFramesPerMessage:F2} | {r.FileBytesPerMessage:F0} |");
        return 0;
    }
    case "export":
    {
        var megabytes = int.Parse(Option("--mb") ?? "10");
        var counts = (Option("--messages") ?? "10,40").Split(',').Select(int.Parse).ToList();
        Console.WriteLine($"## Download all as .zip: one environment filled with {megabytes} MB messages and exported at each size (server RSS sampled every 20 ms)");
        Console.WriteLine();
        Console.WriteLine("| messages | zip MB | baseline RSS MB | peak RSS MB | seconds |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        foreach (var r in await ExportBenchmark.RunAsync(appPath, megabytes, counts))
            Console.WriteLine($"| {r.Messages} | {r.ExportBytes / 1048576.0:F0} | {r.BaselineRssBytes / 1048576.0:F0} | {r.PeakRssBytes / 1048576.0:F0} | {r.Seconds:F1} |");
        return 0;
    }
    case "wait":
    {
        var waiters = int.Parse(Option("--waiters") ?? "200");
        var rounds = int.Parse(Option("--rounds") ?? "5");
        Console.WriteLine($"## {waiters} waiters on one environment's /messages/wait, one message sent over SMTP; time from the sender's 250 to each answer ({rounds} rounds after a warm-up)");
        Console.WriteLine();
        Console.WriteLine("| round | answered | p50 ms | p95 ms | max ms |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        var round = 0;
        foreach (var r in await WaitBenchmark.RunAsync(appPath, waiters, rounds, TimeSpan.FromSeconds(2)))
            Console.WriteLine($"| {++round} | {r.Answered}/{r.Waiters} | {r.P50Ms:F1} | {r.P95Ms:F1} | {r.MaxMs:F1} |");
        return 0;
    }
    case "purge":
    {
        var messages = int.Parse(Option("--messages") ?? "100000");
        var size = int.Parse(Option("--size") ?? "2048");
        // Caps far away, so only the purge under test deletes anything.
        await using var server = await MailtestProcess.StartAsync(appPath, new Dictionary<string, string>
        {
            ["Mailtest__Plans__Agency__MessageCap"] = "100000000",
            ["Mailtest__Plans__Agency__StorageCapBytes"] = "1000000000000",
        });
        var r = await PurgeBenchmark.RunAsync(server, messages, connections: 8, size, baseline: TimeSpan.FromSeconds(10));
        Console.WriteLine($"## Retention purge of {r.PurgedMessages:N0} messages ({size / 1024} KB each, SQLite) while 8 connections keep sending");
        Console.WriteLine();
        Console.WriteLine($"Seeded {r.Seeded:N0} messages over SMTP at {r.SeedPerSecond:F0} messages/s. The purge took {r.PurgeSeconds:F1} s.");
        Console.WriteLine();
        Console.WriteLine("| window | seconds | messages | messages/s | p99 ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Console.WriteLine($"| before the purge | {r.Before.Seconds:F1} | {r.Before.Messages} | {r.Before.PerSecond:F0} | {r.Before.P99Ms:F1} |");
        Console.WriteLine($"| during the purge | {r.During.Seconds:F1} | {r.During.Messages} | {r.During.PerSecond:F0} | {r.During.P99Ms:F1} |");
        Console.WriteLine();
        Console.WriteLine($"Database file (with its WAL): {r.FileBytesBefore / 1048576.0:F1} MB before, {r.FileBytesAfter / 1048576.0:F1} MB after.");
        return 0;
    }
    default:
        Console.Error.WriteLine("usage: Mailtest.Bench smtp [--seconds N] [--connections 1,8] [--size BYTES] [--large-count N] [--large-mb N] [--app PATH]");
        Console.Error.WriteLine("       Mailtest.Bench purge [--messages N] [--size BYTES] [--app PATH]");
        Console.Error.WriteLine("       Mailtest.Bench ingest [--bodies realistic,random] [--connections 1,8] [--rounds 3] [--seconds 10] [--maildev maildev.js] [--smtp4dev smtp4dev] [--counters dotnet-counters] [--servers mailtest,maildev,smtp4dev,sink,engine] [--app PATH] [--baseline OTHER/Mailtest.Web.dll (a second build beside it)]");
        Console.Error.WriteLine("       Mailtest.Bench live [--connections 8] [--seconds 20] [--probe-ms 200] [--chromium /usr/bin/chromium] [--app PATH]");
        Console.Error.WriteLine("       Mailtest.Bench large [--large-count N] [--large-mb N] [--open-mb N] [--rounds N] [--app PATH]");
        Console.Error.WriteLine("       Mailtest.Bench index-cost [--bodies random,realistic] [--documents 3000] [--batch 50] [--rounds 3] [--variants NAME,NAME (parts of their names)]");
        Console.Error.WriteLine("       Mailtest.Bench compression [--bodies realistic,random] [--messages 20000] [--rounds 3]");
        Console.Error.WriteLine("       Mailtest.Bench preparation [--bodies realistic,random] [--messages 20000] [--rounds 5]");
        Console.Error.WriteLine("       Mailtest.Bench disk-sync [--syncs 2000] [--rounds 3] [--dir DIR (the disk to measure; the temp folder by default)]");
        Console.Error.WriteLine("       Mailtest.Bench write-cost [--messages 10000] [--rounds 5] [--per-commit N (else 2 and 3 alternately)] [--variants NAME,NAME (parts of their names)]");
        Console.Error.WriteLine("       Mailtest.Bench inbox [--messages N] [--repetitions N] [--provider Sqlite|Postgres --connection-string CS] [--data-dir DIR (kept and reused)]");
        return 2;
}

// --variants "spread,automerge": only the variants whose names hold one of these (all by default).
bool Chosen(string variant) =>
    Option("--variants")?.Split(',') is not { } named || named.Any(n => variant.Contains(n, StringComparison.OrdinalIgnoreCase));

// --bodies "realistic,random" (else the command's own order), each opening its section of the output with this table header.
IEnumerable<string> Bodies(string defaults, string tableHeader)
{
    foreach (var body in (Option("--bodies") ?? defaults).Split(','))
    {
        Console.WriteLine();
        Console.WriteLine($"### {body} body");
        Console.WriteLine();
        Console.WriteLine(tableHeader);
        Console.WriteLine("|---|" + string.Concat(Enumerable.Repeat("---:|", tableHeader.Count(c => c == '|') - 2))); // the first column a name, the others figures
        yield return body;
    }
}

string? Option(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

static string SqliteVersion()
{
    using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
    connection.Open();
    return connection.ServerVersion;
}
