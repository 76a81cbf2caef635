using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Mailtest.Core.Audit;
using Mailtest.Core.Webhooks;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Mailtest.Tests.Webhooks;

/// <summary>Webhooks per environment against a real HTTP listener, with mail sent over real SMTP.</summary>
[TestCategory(Needs.Host)]
public sealed class WebhookTests : IAsyncLifetime
{
    private MailtestTestHost _host = null!;
    private SandboxWorld _world = null!;
    private WebhookListener _listener = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await MailtestTestHost.StartAsync(new Dictionary<string, string?>
        {
            // The listener is on loopback; the SSRF refusal is its own test below.
            ["Mailtest:Webhooks:AllowPrivateAddresses"] = "true",
            ["Mailtest:Webhooks:PublicUrl"] = "https://mailtest.example.test/",
            ["Mailtest:Webhooks:Timeout"] = "00:00:05",
            ["Mailtest:Webhooks:FirstRetryAfter"] = "00:00:00.200",
            ["Mailtest:Webhooks:MaxRetryInterval"] = "00:00:01",
            ["Mailtest:Webhooks:RetryFor"] = "00:00:06",
        });
        _world = await SandboxWorld.CreateAsync(_host);
        _listener = await WebhookListener.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _listener.DisposeAsync();
    }

    private string WebhookPath => $"/api/v1/environments/{_world.EnvironmentId}/webhook";

    /// <summary>Sets the listener as the webhook and returns the secret shown once.</summary>
    private async Task<string> SubscribeAsync()
    {
        var response = await _world.Owner.PutAsJsonAsync(WebhookPath, new { url = _listener.Url.ToString() });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
    }

    private async Task<string> SendMailAsync(MailKit.Net.Smtp.SmtpClient client, string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("shop@acme.example"));
        message.To.Add(MailboxAddress.Parse("customer@client.example"));
        message.Bcc.Add(MailboxAddress.Parse("archive@acme.example"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Your order has shipped." };
        return await client.SendAsync(message);
    }

    private async Task<string> SendMailAsync(string subject)
    {
        using var client = await _world.ConnectAsync();
        await client.AuthenticateAsync(_world.Credential.Username, _world.Credential.Password);
        var reply = await SendMailAsync(client, subject);
        await client.DisconnectAsync(true);
        return reply;
    }

    /// <summary>The delivery log as the API shows it, once it holds <paramref name="count"/> attempts (it is written after each answer).</summary>
    private Task<JsonElement[]> DeliveriesAsync(int count) => DeliveriesUntilAsync(log => log.Length >= count, TimeSpan.FromSeconds(15));

    private async Task<JsonElement[]> DeliveriesUntilAsync(Func<JsonElement[], bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var log = (await _world.Viewer.GetFromJsonAsync<JsonElement>(WebhookPath)).GetProperty("deliveries").EnumerateArray().ToArray();
            if (done(log) || DateTime.UtcNow > deadline) return log;
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_captured_message_is_posted_signed_with_its_summary_and_links()
    {
        var secret = await SubscribeAsync();

        await SendMailAsync("Order SO042 shipped");
        var received = await _listener.NextAsync();

        Assert.Equal("message.captured", received.Headers["Mailtest-Event"]);
        Assert.StartsWith("application/json", received.Headers["Content-Type"]);
        var signature = received.Headers[WebhookSignature.HeaderName];
        Assert.True(WebhookSignature.Verify(secret, signature, received.Body, DateTimeOffset.UtcNow));
        // What a receiver refuses: another secret, a changed body, the same delivery replayed later.
        Assert.False(WebhookSignature.Verify(secret[..^1] + (secret[^1] == 'x' ? 'y' : 'x'), signature, received.Body, DateTimeOffset.UtcNow)); // a secret with no 'a' stayed the same under Replace('a', 'b')
        Assert.False(WebhookSignature.Verify(secret, signature, [.. received.Body, (byte)' '], DateTimeOffset.UtcNow));
        Assert.False(WebhookSignature.Verify(secret, signature, received.Body, DateTimeOffset.UtcNow.AddMinutes(10)));

        var body = JsonDocument.Parse(received.Body).RootElement;
        Assert.Equal("message.captured", body.GetProperty("event").GetString());
        Assert.Equal(_world.EnvironmentId, body.GetProperty("environment").GetProperty("id").GetGuid());
        var message = body.GetProperty("message");
        Assert.Equal("Order SO042 shipped", message.GetProperty("subject").GetString());
        Assert.Equal(["customer@client.example", "archive@acme.example"], message.GetProperty("envelopeTo").EnumerateArray().Select(e => e.GetString()));
        var messageId = message.GetProperty("id").GetGuid();
        Assert.Equal($"https://mailtest.example.test/api/v1/environments/{_world.EnvironmentId}/messages/{messageId}",
            body.GetProperty("links").GetProperty("message").GetString());

        var log = Assert.Single(await DeliveriesAsync(1));
        Assert.True(log.GetProperty("succeeded").GetBoolean());
        Assert.Equal(200, log.GetProperty("statusCode").GetInt32());
        Assert.Equal(messageId, log.GetProperty("messageId").GetGuid());
    }

    [Fact]
    public async Task A_failing_receiver_is_retried_with_the_same_delivery_id_until_it_accepts()
    {
        var secret = await SubscribeAsync();
        _listener.Answer = (index, _) => Task.FromResult(index < 2 ? 503 : 200);

        await SendMailAsync("Password reset");
        var attempts = new[] { await _listener.NextAsync(), await _listener.NextAsync(), await _listener.NextAsync() };

        Assert.Single(attempts.Select(a => a.Headers["Mailtest-Delivery"]).Distinct());
        Assert.All(attempts, a => Assert.True(WebhookSignature.Verify(secret, a.Headers[WebhookSignature.HeaderName], a.Body, DateTimeOffset.UtcNow)));
        Assert.True(attempts[2].ReceivedAt - attempts[0].ReceivedAt >= TimeSpan.FromMilliseconds(500), "the second retry waits twice the first wait");

        var log = await DeliveriesAsync(3);
        Assert.Equal([3, 2, 1], log.Select(d => d.GetProperty("attempt").GetInt32()));
        Assert.Equal([true, false, false], log.Select(d => d.GetProperty("succeeded").GetBoolean()));
        Assert.Contains("503", log[2].GetProperty("outcome").GetString());
        Assert.Contains("retrying in", log[2].GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task A_receiver_that_never_accepts_is_given_up_after_the_retry_window()
    {
        await SubscribeAsync();
        _listener.Answer = (_, _) => Task.FromResult(500);

        await SendMailAsync("Invoice INV/7");

        // A 6 s window with waits of 0.2, 0.4, 0.8, then 1 s: about 8 attempts (fewer when the machine is slow).
        var log = await DeliveriesUntilAsync(l => l.Length > 0 && l[0].GetProperty("outcome").GetString()!.Contains("gave up"), TimeSpan.FromSeconds(30));
        var attempts = log.Length;
        Assert.InRange(attempts, 3, 12);
        Assert.Contains($"gave up after {attempts} attempts", log[0].GetProperty("outcome").GetString());
        Assert.Equal(Enumerable.Range(1, attempts).Reverse(), log.Select(d => d.GetProperty("attempt").GetInt32()));
        Assert.Equal(attempts, _listener.All.Count);
    }

    [Fact]
    public async Task A_slow_receiver_does_not_slow_SMTP()
    {
        await SubscribeAsync();
        var release = new TaskCompletionSource();
        _listener.Answer = async (_, cancellationToken) =>
        {
            await release.Task.WaitAsync(cancellationToken);
            return 200;
        };
        using var client = await _world.ConnectAsync();
        await client.AuthenticateAsync(_world.Credential.Username, _world.Credential.Password);

        await SendMailAsync(client, "First");
        await _listener.NextAsync(); // the receiver now holds the first notification unanswered
        var replies = new List<string>();
        for (var i = 0; i < 5; i++)
            replies.Add(await SendMailAsync(client, $"Next {i}"));

        Assert.All(replies, reply => Assert.Contains("queued as", reply));
        Assert.False(release.Task.IsCompleted);
        release.SetResult();
        var log = await DeliveriesAsync(6);
        Assert.Equal(6, log.Count(d => d.GetProperty("succeeded").GetBoolean()));
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Send_test_posts_a_signed_test_event_and_logs_it()
    {
        var secret = await SubscribeAsync();

        var response = await _world.Owner.PostAsync(WebhookPath + "/test", null);
        var received = await _listener.NextAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(result.GetProperty("succeeded").GetBoolean());
        Assert.Equal("webhook.test", received.Headers["Mailtest-Event"]);
        Assert.True(WebhookSignature.Verify(secret, received.Headers[WebhookSignature.HeaderName], received.Body, DateTimeOffset.UtcNow));
        Assert.Equal("webhook.test", Assert.Single(await DeliveriesAsync(1)).GetProperty("event").GetString());
    }

    [Fact]
    public async Task Regenerating_the_secret_signs_with_the_new_one_only()
    {
        var oldSecret = await SubscribeAsync();

        var regenerated = await _world.Owner.PostAsync(WebhookPath + "/secret", null);
        var newSecret = (await regenerated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        await _world.Owner.PostAsync(WebhookPath + "/test", null);
        var received = await _listener.NextAsync();

        Assert.NotEqual(oldSecret, newSecret);
        Assert.True(WebhookSignature.Verify(newSecret, received.Headers[WebhookSignature.HeaderName], received.Body, DateTimeOffset.UtcNow));
        Assert.False(WebhookSignature.Verify(oldSecret, received.Headers[WebhookSignature.HeaderName], received.Body, DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task Only_managers_change_it_the_secret_is_never_shown_again_and_changes_are_audited()
    {
        var secret = await SubscribeAsync();
        var viewerChange = await _world.Viewer.PutAsJsonAsync(WebhookPath, new { url = "https://elsewhere.example/hook" });
        var (stranger, _) = await SandboxWorld.ClientAsync(_host, null);
        var badScheme = await _world.Owner.PutAsJsonAsync(WebhookPath, new { url = "ftp://ci.example/hook" });
        var withPassword = await _world.Owner.PutAsJsonAsync(WebhookPath, new { url = "https://user:pw@ci.example/hook" });
        var shown = await _world.Viewer.GetStringAsync(WebhookPath);

        Assert.Equal(HttpStatusCode.Forbidden, viewerChange.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync(WebhookPath)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badScheme.StatusCode);
        Assert.Contains("http:// or https://", await badScheme.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, withPassword.StatusCode);
        Assert.Contains(_listener.Url.ToString(), shown);
        Assert.DoesNotContain(secret, shown);
        Assert.Contains(secret[..10], shown);

        var entries = (await _host.Services.GetRequiredService<AuditLog>().PageAsync(0, 200)).Items.Where(a => a.EnvironmentId == _world.EnvironmentId).ToList();
        Assert.Contains(entries, a => a.Action == AuditActions.WebhookChange && a.Detail!.Contains(_listener.Url.ToString()));
        Assert.All(entries, a => Assert.DoesNotContain(secret, a.Detail ?? ""));
        Assert.Equal(HttpStatusCode.NoContent, (await _world.Owner.DeleteAsync(WebhookPath)).StatusCode);
        Assert.Contains(await _host.Services.GetRequiredService<AuditLog>().PageAsync(0, 200) is var page ? page.Items : [],
            a => a.EnvironmentId == _world.EnvironmentId && a.Action == AuditActions.WebhookRemove);
    }
}

/// <summary>By default a webhook may not reach loopback or private addresses (SSRF); the installation can allow it.</summary>
[TestCategory(Needs.Unit)]
public sealed class WebhookAddressPolicyTests
{
    [Fact]
    public async Task A_private_address_is_refused_by_default_and_nothing_is_posted()
    {
        await using var host = await MailtestTestHost.StartAsync();
        await using var listener = await WebhookListener.StartAsync();
        var world = await SandboxWorld.CreateAsync(host);
        var path = $"/api/v1/environments/{world.EnvironmentId}/webhook";
        Assert.Equal(HttpStatusCode.OK, (await world.Owner.PutAsJsonAsync(path, new { url = listener.Url.ToString() })).StatusCode);

        var result = await (await world.Owner.PostAsync(path + "/test", null)).Content.ReadFromJsonAsync<JsonElement>();

        Assert.False(result.GetProperty("succeeded").GetBoolean());
        Assert.Contains("private, loopback or reserved", result.GetProperty("outcome").GetString());
        Assert.Contains("AllowPrivateAddresses", result.GetProperty("outcome").GetString());
        Assert.Empty(listener.All);
    }
}
