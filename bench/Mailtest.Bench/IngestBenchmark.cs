using System.Diagnostics;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mailtest.Bench;

/// <summary>
/// SMTP ingest over STARTTLS + AUTH: each connection logs in once and sends messages back to back;
/// a message counts when its <c>250</c> arrives, which Mailtest sends only after the commit.
/// </summary>
public static class IngestBenchmark
{
    public sealed record Result(int Connections, int Messages, double Seconds, double PerSecond, double P50Ms, double P99Ms, long PeakRssBytes);

    public static async Task<Result> RunAsync(MailtestProcess server, string username, string password, int connections, TimeSpan duration, int messageBytes)
    {
        var message = BuildMessage(messageBytes);
        var latencies = new List<double>[connections];
        using var memory = new MemorySampler(server);
        var stopwatch = Stopwatch.StartNew();
        var deadline = stopwatch.Elapsed + duration;

        await Task.WhenAll(Enumerable.Range(0, connections).Select(async index =>
        {
            var mine = latencies[index] = new List<double>(100_000);
            using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
            await client.ConnectAsync(await MailtestProcess.ConnectNoDelayAsync(server.SmtpPort), "127.0.0.1", server.SmtpPort, SecureSocketOptions.StartTls);
            await client.AuthenticateAsync(username, password);
            while (stopwatch.Elapsed < deadline)
            {
                var started = stopwatch.Elapsed;
                await client.SendAsync(message);
                mine.Add((stopwatch.Elapsed - started).TotalMilliseconds);
            }
            await client.DisconnectAsync(quit: true);
        }));
        var seconds = stopwatch.Elapsed.TotalSeconds;

        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new Result(connections, all.Length, seconds, all.Length / seconds, Percentile(all, 0.50), Percentile(all, 0.99), memory.Peak);
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

/// <summary>Samples a resident set size (the server's, by default) every 20 ms; <see cref="Peak"/> is the largest seen.</summary>
public sealed class MemorySampler : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _peak;

    public MemorySampler(MailtestProcess server) : this(() => server.Memory().Current) { }

    /// <param name="currentRss">Reads the resident set size to sample (another process, or this one).</param>
    public MemorySampler(Func<long> currentRss)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var current = currentRss();
                if (current > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, current);
                try { await Task.Delay(20, _stop.Token); } catch (OperationCanceledException) { }
            }
        });
    }

    public long Peak => Interlocked.Read(ref _peak);

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait();
    }
}
