using System.Diagnostics;
using System.Net.Http.Headers;
using MimeKit;

namespace Mailtest.Bench;

/// <summary>
/// Many test runs waiting for the same mail: <paramref name="waiters"/> requests hang on
/// <c>GET .../messages/wait</c> of one environment, one message is sent over SMTP, and each waiter's
/// answer is timed from the moment the sender read its <c>250</c>. The goal: every waiter
/// within 100 ms.
/// </summary>
public static class WaitBenchmark
{
    public sealed record Round(int Answered, int Waiters, double P50Ms, double P95Ms, double MaxMs);

    public static async Task<IReadOnlyList<Round>> RunAsync(string appPath, int waiters, int rounds, TimeSpan settle)
    {
        await using var server = await MailtestProcess.StartAsync(appPath);
        var (username, password, environmentId) = await server.CreateSendingEnvironmentAsync();
        var token = (await server.AdminAsync("token", "create", "--environment", environmentId, "--scope", "read")).GetProperty("token").GetString()!;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = waiters + 10 }) { BaseAddress = server.WebAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var smtp = await server.ConnectSmtpAsync(username, password);

        var results = new List<Round>();
        for (var round = 0; round <= rounds; round++) // round 0 warms up the server and the connections
        {
            var marker = $"waitbench{round}x{Guid.NewGuid():N}"[..24];
            var clock = Stopwatch.StartNew();
            var answers = Enumerable.Range(0, waiters).Select(async _ =>
            {
                using var response = await http.GetAsync($"api/v1/environments/{environmentId}/messages/wait?query=subject:{marker}&timeout=30");
                var answeredAt = clock.Elapsed;
                return response.IsSuccessStatusCode ? answeredAt : (TimeSpan?)null;
            }).ToList();
            // The waiters subscribe when their request arrives; give all of them time to be hanging.
            await Task.Delay(settle);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("app@bench.example"));
            message.To.Add(MailboxAddress.Parse("qa@bench.example"));
            message.Subject = $"Password reset {marker}";
            message.Body = new TextPart("plain") { Text = "Reset link: https://shop.example/reset?token=abc" };
            await smtp.SendAsync(message);
            var accepted = clock.Elapsed;
            var answered = (await Task.WhenAll(answers)).Where(a => a is not null).Select(a => Math.Max(0, (a!.Value - accepted).TotalMilliseconds)).Order().ToList();
            if (round > 0)
                results.Add(new Round(answered.Count, waiters, Percentile(answered, 0.50), Percentile(answered, 0.95), answered.Count == 0 ? double.NaN : answered[^1]));
        }
        await smtp.DisconnectAsync(quit: true);
        return results;
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
