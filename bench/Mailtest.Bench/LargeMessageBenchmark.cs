using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using System.Security.Cryptography;

namespace Mailtest.Bench;

/// <summary>Several large messages arriving at once: the spool streams them, nothing holds them whole in memory.</summary>
public static class LargeMessageBenchmark
{
    public sealed record Result(int Count, long MessageBytes, long BaselineRssBytes, long PeakRssBytes, double Seconds);

    public static async Task<Result> RunAsync(MailtestProcess server, string username, string password, int count, int megabytes)
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
        var bytes = serialized.ToArray();

        GC.Collect();
        var baseline = server.Memory().Current;
        using var memory = new MemorySampler(server);
        var started = DateTime.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            // A MimeMessage's content streams are not safe to write from several clients at once: one copy each.
            var own = MimeMessage.Load(new MemoryStream(bytes, writable: false));
            using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 300_000 };
            await client.ConnectAsync(await MailtestProcess.ConnectNoDelayAsync(server.SmtpPort), "127.0.0.1", server.SmtpPort, SecureSocketOptions.StartTls);
            await client.AuthenticateAsync(username, password);
            await client.SendAsync(own);
            await client.DisconnectAsync(quit: true);
        }));
        return new Result(count, bytes.Length, baseline, memory.Peak, (DateTime.UtcNow - started).TotalSeconds);
    }
}
