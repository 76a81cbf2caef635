using System.Diagnostics;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailtest.Bench.Ingest;
using MimeKit;

namespace Mailtest.Bench;

/// <summary>An SMTP server under test: where it listens, how it is spoken to, and its process (for CPU and memory).</summary>
/// <param name="StartTlsAndAuth">STARTTLS then AUTH once per connection; false for plain SMTP without AUTH (MailDev).</param>
public sealed record IngestTarget(string Name, int Port, bool StartTlsAndAuth, string Username, string Password, int ProcessId);

/// <summary>
/// SMTP ingest: each connection connects (STARTTLS + AUTH when the target asks for it) and sends
/// messages back to back; a message counts when its <c>250</c> arrives (Mailtest sends it only after
/// the commit). The server's CPU time over the run, divided by the messages, is its per-message cost.
/// </summary>
public static class IngestBenchmark
{
    /// <param name="ClientCpuMsPerMessage">This process's own CPU (the MailKit clients) per message: on a shared machine it
    /// competes with the server's, and it differs by server (a client waiting longer for its 250 spins and sleeps more).</param>
    public sealed record Result(int Connections, int Messages, double Seconds, double PerSecond, double P50Ms, double P99Ms, long PeakRssBytes, double CpuMsPerMessage,
        double ClientCpuMsPerMessage = double.NaN);

    public static Task<Result> RunAsync(MailtestProcess server, string username, string password, int connections, TimeSpan duration, int messageBytes) =>
        RunAsync(new IngestTarget("Mailtest", server.SmtpPort, true, username, password, server.ProcessId), [BuildMessage(messageBytes)], connections, duration);

    public static async Task<Result> RunAsync(IngestTarget target, IReadOnlyList<MimeMessage> messages, int connections, TimeSpan duration)
    {
        var latencies = new List<double>[connections];
        // Each connection sends its own copies: MailKit writes a message's content from a stream with one position,
        // so two connections sending the same object at once garble it (seen once as MimeKit's ArgumentException).
        var pools = Enumerable.Range(0, connections).Select(_ => messages.Select(Copy).ToList()).ToArray();
        using var memory = new MemorySampler(target.ProcessId);
        var cpuBefore = CpuTime(target.ProcessId);
        var clientCpuBefore = CpuTime(Environment.ProcessId);
        var stopwatch = Stopwatch.StartNew();
        var deadline = stopwatch.Elapsed + duration;

        await Task.WhenAll(Enumerable.Range(0, connections).Select(async index =>
        {
            var mine = latencies[index] = new List<double>(100_000);
            using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
            var options = target.StartTlsAndAuth ? SecureSocketOptions.StartTls : SecureSocketOptions.None;
            await client.ConnectAsync(await MailtestProcess.ConnectNoDelayAsync(target.Port), "127.0.0.1", target.Port, options);
            if (target.StartTlsAndAuth)
                await client.AuthenticateAsync(target.Username, target.Password);
            var next = index * 7919; // connections walk the pool from different places
            while (stopwatch.Elapsed < deadline)
            {
                var started = stopwatch.Elapsed;
                await client.SendAsync(pools[index][next++ % messages.Count]);
                mine.Add((stopwatch.Elapsed - started).TotalMilliseconds);
            }
            await client.DisconnectAsync(quit: true);
        }));
        var seconds = stopwatch.Elapsed.TotalSeconds;
        var cpu = CpuTime(target.ProcessId) - cpuBefore;
        var clientCpu = CpuTime(Environment.ProcessId) - clientCpuBefore;

        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new Result(connections, all.Length, seconds, all.Length / seconds, Percentile(all, 0.50), Percentile(all, 0.99), memory.Peak,
            all.Length == 0 ? double.NaN : cpu.TotalMilliseconds / all.Length, all.Length == 0 ? double.NaN : clientCpu.TotalMilliseconds / all.Length);
    }

    private static MimeMessage Copy(MimeMessage message)
    {
        using var bytes = new MemoryStream();
        message.WriteTo(bytes);
        bytes.Position = 0;
        return MimeMessage.Load(bytes);
    }

    /// <summary>User + system CPU time of a process so far, from <c>/proc/PID/stat</c> (clock ticks of 10 ms).</summary>
    public static TimeSpan CpuTime(int processId)
    {
        var stat = File.ReadAllText($"/proc/{processId}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]); // utime, stime (fields 14 and 15 of stat)
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    /// <summary>A multipart/alternative message of about <paramref name="bytes"/> bytes, like a templated notification.</summary>
    public static MimeMessage BuildMessage(int bytes)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("noreply@bench.example"));
        message.To.Add(MailboxAddress.Parse("customer@bench.example"));
        message.Subject = "Your invoice INV/2026/00042 is ready";
        var paragraph = "Dear customer, please find the details of your order below. Thank you for your business. ";
        var text = string.Concat(Enumerable.Repeat(paragraph, Math.Max(1, bytes / 2 / paragraph.Length)));
        message.Body = new MultipartAlternative
        {
            new TextPart("plain") { Text = text },
            new TextPart("html") { Text = $"<html><body><p>{text}</p></body></html>" },
        };
        return message;
    }

    internal static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}

/// <summary>Samples a process's resident set size every 20 ms; <see cref="Peak"/> is the largest seen.</summary>
public sealed class MemorySampler : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _peak;

    public MemorySampler(MailtestProcess server) : this(server.ProcessId)
    {
    }

    public MemorySampler(int processId)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var current = ResidentBytes(processId);
                if (current > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, current);
                try { await Task.Delay(20, _stop.Token); } catch (OperationCanceledException) { }
            }
        });
    }

    public long Peak => Interlocked.Read(ref _peak);

    private static long ResidentBytes(int processId)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{processId}/status"))
                if (line.StartsWith("VmRSS:"))
                    return long.Parse(line.Split(':', StringSplitOptions.TrimEntries)[1].Split(' ')[0]) * 1024;
        }
        catch (IOException)
        {
            // The process is gone.
        }
        return 0;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait();
    }
}
