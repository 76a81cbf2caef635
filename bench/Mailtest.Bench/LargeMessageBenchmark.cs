using System.Diagnostics;
using System.Text.RegularExpressions;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailtest.Core.Messages;
using Mailtest.Web.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using System.Security.Cryptography;

namespace Mailtest.Bench;

/// <summary>
/// Large messages: several arriving at once (the spool streams them, sealing and the writer stream
/// them in chunks, so nothing holds a message whole), and one very large message opened again
/// (read back from the database, decrypted and decompressed chunk by chunk).
/// </summary>
public static partial class LargeMessageBenchmark
{
    public sealed record Result(int Count, long MessageBytes, long BaselineRssBytes, long PeakRssBytes, double Seconds);

    public sealed record OpenResult(long MessageBytes, long BaselineRssBytes, long PeakRssBytes, double Seconds);

    public static async Task<Result> RunAsync(MailtestProcess server, string username, string password, int count, int megabytes)
    {
        var bytes = Message(megabytes);
        GC.Collect();
        var baseline = server.Memory().Current;
        using var memory = new MemorySampler(server);
        var started = DateTime.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, count).Select(_ => SendAsync(server, username, password, bytes)));
        return new Result(count, bytes.Length, baseline, memory.Peak, (DateTime.UtcNow - started).TotalSeconds);
    }

    /// <summary>Sends one message of <paramref name="megabytes"/>, then opens it in this process, as a preview or a raw download does, reading it to the end.</summary>
    public static async Task<(Result Sent, OpenResult Opened)> SendAndOpenAsync(MailtestProcess server, string username, string password, Guid environmentId, int megabytes)
    {
        var bytes = Message(megabytes);
        var baseline = server.Memory().Current;
        Guid id;
        var started = DateTime.UtcNow;
        using (var memory = new MemorySampler(server))
        {
            id = await SendAsync(server, username, password, bytes);
            var sent = new Result(1, bytes.Length, baseline, memory.Peak, (DateTime.UtcNow - started).TotalSeconds);
            bytes = null;
            return (sent, await OpenAsync(server.DataDirectory, environmentId, id, sent.MessageBytes));
        }
    }

    private static async Task<OpenResult> OpenAsync(string dataDirectory, Guid environmentId, Guid id, long messageBytes)
    {
        var builder = MailtestHost.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Mailtest:Data:Directory"] = dataDirectory });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        await using var app = builder.Build();
        var store = app.Services.GetRequiredService<IMessageStore>();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var baseline = MailtestProcess.OwnMemory();
        using var memory = new MemorySampler(Environment.ProcessId);
        var started = Stopwatch.GetTimestamp();
        await using (var raw = await store.OpenRawAsync(id, [environmentId]) ?? throw new InvalidOperationException($"Message {id} not found."))
        {
            var read = 0L;
            var buffer = new byte[81920];
            int n;
            while ((n = await raw.ReadAsync(buffer)) > 0) read += n;
            // SMTP carries CRLF line ends, MimeKit writes LF here: compare with what the server stored.
            var stored = (await store.GetAsync(id, [environmentId]))!.Size;
            if (read != stored) throw new InvalidOperationException($"Read {read} bytes of {stored}.");
            messageBytes = stored;
        }
        return new OpenResult(messageBytes, baseline, memory.Peak, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    internal static byte[] Message(int megabytes)
    {
        // Base64 grows the attachment by 4/3: size the payload so the whole message is about the target.
        var payload = RandomNumberGenerator.GetBytes(megabytes * 1024 * 1024 * 3 / 4 - 64 * 1024);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("reports@bench.example"));
        message.To.Add(MailboxAddress.Parse("customer@bench.example"));
        message.Subject = $"Monthly export ({megabytes} MB)";
        var body = new BodyBuilder { TextBody = "The export is attached." };
        body.Attachments.Add("export.bin", payload, new ContentType("application", "octet-stream"));
        message.Body = body.ToMessageBody();
        using var serialized = new MemoryStream();
        message.WriteTo(serialized);
        return serialized.ToArray();
    }

    internal static async Task<Guid> SendAsync(MailtestProcess server, string username, string password, byte[] bytes)
    {
        // A MimeMessage's content streams are not safe to write from several clients at once: one copy each.
        var own = MimeMessage.Load(new MemoryStream(bytes, writable: false));
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 300_000 };
        await client.ConnectAsync(await MailtestProcess.ConnectNoDelayAsync(server.SmtpPort), "127.0.0.1", server.SmtpPort, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(username, password);
        var response = await client.SendAsync(own);
        await client.DisconnectAsync(quit: true);
        return Guid.Parse(QueuedAs().Match(response).Groups[1].Value);
    }

    [GeneratedRegex("queued as ([0-9a-f]{32})")]
    private static partial Regex QueuedAs();
}
