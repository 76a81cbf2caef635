using Mailtest.Bench;
using Mailtest.Bench.Ingest;

// Reproduce (from the repository root):
//   dotnet build -c Release Mailtest.Web && dotnet run -c Release --project bench/Mailtest.Bench -- smtp
//   dotnet run -c Release --project bench/Mailtest.Bench -- inbox --messages 100000
//   dotnet run -c Release --project bench/Mailtest.Bench -- ingest --maildev PATH/maildev.js --smtp4dev PATH/smtp4dev --counters PATH/dotnet-counters
//   (see docs/benchmarks.md for installing MailDev, smtp4dev and dotnet-counters outside the repository)
// Results go to stdout as a Markdown table, ready for docs/benchmarks.md.
var command = args.FirstOrDefault() ?? "smtp";
var appPath = Option("--app") ?? Path.GetFullPath("Mailtest.Web/bin/Release/net10.0/Mailtest.Web.dll");
if (command is "smtp" or "ingest" && !File.Exists(appPath))
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
            Servers: (Option("--servers") ?? "mailtest,maildev,smtp4dev,sink,engine").Split(',').ToHashSet()), Console.Out);
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
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-bench-inbox-{Guid.NewGuid():N}");
        var settings = new Dictionary<string, string?>
        {
            ["Mailtest:Data:Directory"] = dataDirectory,
            ["Mailtest:Data:Provider"] = provider,
            ["Mailtest:Data:ConnectionString"] = Option("--connection-string"),
        };
        var (seedPerSecond, timings) = await InboxBenchmark.RunAsync(messages, settings, repetitions);
        Console.WriteLine($"## Inbox with {messages:N0} messages in one environment ({provider}); seeded through ingest at {seedPerSecond:F0} messages/s");
        Console.WriteLine();
        Console.WriteLine($"| query (first page of 50) | p50 ms | p95 ms | hits on page |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var t in timings) Console.WriteLine($"| {t.Name} | {t.P50Ms:F1} | {t.P95Ms:F1} | {t.Hits} |");
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
        return 0;
    }
    default:
        Console.Error.WriteLine("usage: Mailtest.Bench smtp [--seconds N] [--connections 1,8] [--size BYTES] [--large-count N] [--large-mb N] [--app PATH]");
        Console.Error.WriteLine("       Mailtest.Bench ingest [--bodies realistic,random] [--connections 1,8] [--rounds 3] [--seconds 10] [--maildev maildev.js] [--smtp4dev smtp4dev] [--counters dotnet-counters] [--servers mailtest,maildev,smtp4dev,sink,engine]");
        Console.Error.WriteLine("       Mailtest.Bench inbox [--messages N] [--repetitions N] [--provider Sqlite|Postgres --connection-string CS]");
        return 2;
}

string? Option(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}
