using MailKit.Net.Smtp;
using MailKit.Security;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Mailtest.Core.Webhooks;
using Mailtest.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Mailtest.Tests.Webhooks;
using Mailtest.Web.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using Npgsql;

namespace Mailtest.Tests.Capture;

/// <summary>
/// A real PostgreSQL of the test's own, stopped and started under a running Mailtest: SMTP keeps
/// greeting (the kill switch serves its last known state), every command gets a reply, the outage is
/// logged once, and mail flows again once the database is back, with nothing restarted by hand.
/// </summary>
[TestCategory(Needs.Host)]
public sealed class DatabaseOutageTests : IAsyncLifetime
{
    private readonly CapturedLogs _logs = new();
    private PostgresCluster _postgres = null!;
    private MailtestTestHost _host = null!;
    private ProjectEnvironment _environment = null!;
    private Guid _organizationId;
    private IssuedCredential _credential = null!;

    public async ValueTask InitializeAsync()
    {
        _postgres = await PostgresCluster.StartAsync(synchronousCommit: true); // an acknowledged message must survive the stop
        await using (var connection = new NpgsqlConnection(_postgres.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE DATABASE mailtest", connection);
            await create.ExecuteNonQueryAsync();
        }
        _host = await MailtestTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Mailtest:Data:Provider"] = "Postgres",
            ["Mailtest:Data:ConnectionString"] = new NpgsqlConnectionStringBuilder(_postgres.ConnectionString) { Database = "mailtest", Timeout = 5 }.ConnectionString,
            // The webhook test's receiver is on loopback; one delivery at a time, so the queue is known.
            ["Mailtest:Webhooks:AllowPrivateAddresses"] = "true",
            ["Mailtest:Webhooks:Concurrency"] = "1",
            ["Mailtest:Webhooks:Timeout"] = "00:01:00", // its slow receiver answers once the database is stopped
            ["Mailtest:Webhooks:FirstRetryAfter"] = "00:00:00.500", // how often a notification waiting for the database tries it
        }, configure: builder => builder.Logging.AddProvider(_logs).AddFilter<CapturedLogs>(null, LogLevel.Debug)); // what repeats, at Debug, too
        var tenancy = _host.Services.GetRequiredService<TenancyAdministration>();
        var organization = await tenancy.CreateOrganizationAsync("Acme", Plan.Pro);
        _organizationId = organization.Id;
        var project = await tenancy.CreateProjectAsync(organization.Id, "Odoo shop");
        _environment = await tenancy.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
        _credential = await _host.Services.EnableMailtestAsync(_environment.Id);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    private int SmtpPort => _host.Services.GetRequiredService<SmtpListeners>().StartTls!.Port;

    private static SmtpClient NewClient() => new() { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15_000 };

    private static MimeMessage NewMessage(string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sales@acme.example"));
        message.To.Add(MailboxAddress.Parse("customer@client.example"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Your order shipped." };
        return message;
    }

    private async Task SendAsync(string subject)
    {
        using var client = NewClient();
        await client.ConnectAsync("127.0.0.1", SmtpPort, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(_credential.Username, _credential.Password);
        await client.SendAsync(NewMessage(subject));
        await client.DisconnectAsync(quit: true);
    }

    /// <summary>A message as SMTP's DATA hands it to ingest.</summary>
    private IngestRequest Request(string subject) => new(_organizationId, _environment.Id, "sales@acme.example", ["customer@client.example"],
        SpooledMessage.FromBytes(System.Text.Encoding.UTF8.GetBytes(Messages.SampleMail.Plain(subject))));

    [Fact]
    public async Task During_an_outage_SMTP_still_greets_answers_with_a_sentence_logs_once_and_recovers_by_itself()
    {
        await SendAsync("Before the outage"); // the kill switch has been read once

        await _postgres.StopServerAsync();
        // Past the few seconds the kill switch and the credentials are cached: every check now needs the database.
        await Task.Delay(KillSwitchAndCredentialCaches);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var client = NewClient();
            await client.ConnectAsync("127.0.0.1", SmtpPort, SecureSocketOptions.StartTls); // greeted, STARTTLS done
            var refused = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(_credential.Username, _credential.Password));
            Assert.Contains("Temporary authentication failure", refused.Message);
            await client.DisconnectAsync(quit: true);
        }
        // One warning each from the kill switch and the SMTP engine for the whole outage, not one per connection.
        var warnings = _logs.AtLeast(LogLevel.Warning);
        Assert.Single(warnings, e => e.Category == typeof(KillSwitch).FullName);
        Assert.Single(warnings, e => e.Category.StartsWith("Mailtest.Smtp.", StringComparison.Ordinal));

        await _postgres.StartServerAsync();
        await SendAsync("After the outage");

        var subjects = (await _host.Services.GetRequiredService<IMessageStore>().ListAsync(new MessageListQuery([_environment.Id]))).Items.Select(m => m.Subject);
        Assert.Equal(["After the outage", "Before the outage"], subjects);
    }

    [Fact]
    public async Task Messages_that_fail_during_an_outage_are_logged_when_it_starts_and_when_it_ends_not_one_by_one()
    {
        var ingest = _host.Services.GetRequiredService<MessageIngest>();
        await ingest.IngestAsync(Request("Before the outage"));

        await _postgres.StopServerAsync();
        // Each message of the outage still fails to its sender (the SMTP engine answers it 451), as before.
        for (var i = 0; i < 20; i++)
            await Assert.ThrowsAnyAsync<Exception>(() => ingest.IngestAsync(Request($"During the outage {i}")));
        await _postgres.StartServerAsync();
        await ingest.IngestAsync(Request("After the outage"));

        // The operator's log: one warning when storing starts failing, one line when it works again.
        var storing = _logs.Entries.Where(e => e.Category == typeof(IngestWriter).FullName && e.Message.StartsWith("Storing captured mail", StringComparison.Ordinal)).ToList();
        Assert.StartsWith("Storing captured mail failed: message ", Assert.Single(storing, e => e.Level >= LogLevel.Warning).Message);
        Assert.Equal(19, storing.Count(e => e.Level == LogLevel.Debug));
        Assert.Equal("Storing captured mail works again (20 failures in all)", Assert.Single(storing, e => e.Level == LogLevel.Information).Message);
        Assert.DoesNotContain(_logs.AtLeast(LogLevel.Error), e => e.Category == typeof(IngestWriter).FullName);
    }

    [Fact]
    public async Task During_an_outage_the_API_answers_503_with_when_to_retry_and_works_again_after_it()
    {
        using var api = await OwnersApiAsync();
        var messages = $"/api/v1/environments/{_environment.Id}/messages";
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync(messages)).StatusCode);
        // Two connections of the application's pool open at once, then idle in it: both die with the server.
        var contexts = _host.Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>();
        await using (var first = await contexts.CreateDbContextAsync())
        await using (var second = await contexts.CreateDbContextAsync())
        {
            await first.Database.OpenConnectionAsync();
            await second.Database.OpenConnectionAsync();
        }

        await _postgres.StopServerAsync();
        for (var attempt = 0; attempt < 2; attempt++) // a pooled connection found dead, then none to be had
        {
            using var during = await api.GetAsync(messages);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
            Assert.Equal("application/problem+json", during.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(5), during.Headers.RetryAfter?.Delta);
            var problem = await during.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("Mailtest cannot reach its database right now; try again in 5 seconds.", problem.GetProperty("detail").GetString());
        }

        await _postgres.StartServerAsync();
        // Not the other dead pooled connection: the first request after the restart gets a working one.
        using var after = await api.GetAsync(messages);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Theory]
    [InlineData(false)] // the server killed
    [InlineData(true)] // restarted by its operator: each connection is told it is ended
    public async Task After_a_restart_nobody_saw_the_first_reads_work_though_the_pooled_connections_died_with_the_server(bool fast)
    {
        using var api = await OwnersApiAsync();
        var messages = $"/api/v1/environments/{_environment.Id}/messages";
        await _host.Services.GetRequiredService<MessageIngest>().IngestAsync(Request("Before the restart"));
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync(messages)).StatusCode);
        // Three connections of the application's pool open at once, then idle in it.
        var contexts = _host.Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>();
        await using (var first = await contexts.CreateDbContextAsync())
        await using (var second = await contexts.CreateDbContextAsync())
        await using (var third = await contexts.CreateDbContextAsync())
        {
            await first.Database.OpenConnectionAsync();
            await second.Database.OpenConnectionAsync();
            await third.Database.OpenConnectionAsync();
        }

        // Restarted between two requests (an upgrade, a failover): nothing touched the pool meanwhile, so all three are dead in it.
        await _postgres.StopServerAsync(fast);
        await _postgres.StartServerAsync();

        // Each read works at once, through the API and in Core, not one failure per dead connection.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var after = await api.GetAsync(messages);
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }
        var store = _host.Services.GetRequiredService<IMessageStore>();
        Assert.Equal(["Before the restart"], (await store.ListAsync(new MessageListQuery([_environment.Id]))).Items.Select(m => m.Subject));
    }

    [Fact]
    public async Task Webhook_notifications_that_fail_during_an_outage_are_delivered_after_it_and_logged_once()
    {
        await using var receiver = await WebhookListener.StartAsync();
        var receiverBusy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.Answer = async (index, aborted) =>
        {
            if (index == 0) await receiverBusy.Task.WaitAsync(aborted); // a slow receiver: the other notifications queue behind it
            return 200;
        };
        await _host.Services.GetRequiredService<WebhookSettings>().SetUrlAsync(Caller.Operator("outage test"), _environment.Id, receiver.Url.ToString());
        var ingest = _host.Services.GetRequiredService<MessageIngest>();
        for (var i = 0; i < 20; i++)
            await ingest.IngestAsync(Request($"Before the outage {i}"));
        await receiver.NextAsync(); // the first notification is at the receiver; the other 19 wait in the queue

        await _postgres.StopServerAsync();
        receiverBusy.SetResult(); // its attempt cannot be logged, and the queued ones cannot be read: 20 failures, the 19 wait for the database
        var dispatcher = typeof(WebhookDispatcher).FullName;
        await UntilAsync(() => _logs.Entries.Count(e => e.Category == dispatcher && e.Error is not null) >= 20, "20 failures logged, at any level");
        await _postgres.StartServerAsync();
        await ingest.IngestAsync(Request("After the outage"));

        // The team's receiver hears of every message: the 19 that waited for the database, and the new one.
        var subjects = new List<string>();
        for (var i = 0; i < 20; i++)
            subjects.Add(JsonDocument.Parse((await receiver.NextAsync(TimeSpan.FromSeconds(60))).Body).RootElement.GetProperty("message").GetProperty("subject").GetString()!);
        var expected = Enumerable.Range(1, 19).Select(i => $"Before the outage {i}").Append("After the outage");
        Assert.Equal(expected.Order(StringComparer.Ordinal), subjects.Order(StringComparer.Ordinal));
        // The operator's log: one warning, the repeats at Debug, and one line at the end.
        await UntilAsync(() => _logs.Entries.Any(e => e.Category == dispatcher && e.Level == LogLevel.Information), "the dispatcher saying deliveries work again");
        var delivering = _logs.Entries.Where(e => e.Category == dispatcher).ToList();
        Assert.StartsWith("Delivering webhooks failed: attempt 1 of the notification for message ", Assert.Single(delivering, e => e.Level == LogLevel.Warning).Message);
        Assert.True(delivering.Count(e => e.Level == LogLevel.Debug && e.Message.StartsWith("Delivering webhooks failed again", StringComparison.Ordinal)) >= 19);
        Assert.StartsWith("Delivering webhooks works again (", Assert.Single(delivering, e => e.Level == LogLevel.Information).Message);
        Assert.DoesNotContain(delivering, e => e.Level >= LogLevel.Error);
    }

    /// <summary>An API client with the token of a new owner of the test's organization.</summary>
    private async Task<HttpClient> OwnersApiAsync()
    {
        var tenancy = _host.Services.GetRequiredService<TenancyAdministration>();
        var user = await tenancy.CreateUserAsync($"qa-{Guid.NewGuid():N}@example.test", "long enough password", isPlatformAdmin: false);
        await tenancy.AddMemberAsync(_organizationId, user.Email, OrganizationRole.Owner);
        var token = await _host.Services.GetRequiredService<ApiTokens>().CreateAsync(user.Id, "CI");
        var api = new HttpClient { BaseAddress = _host.WebAddress };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        return api;
    }

    /// <summary>Until the server has done what <paramref name="done"/> looks for (the test's own sync on the log; nothing else shows it).</summary>
    private static async Task UntilAsync(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"no {what} within 60 s");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    private static readonly TimeSpan KillSwitchAndCredentialCaches = SmtpCredentialCache.CacheFor + TimeSpan.FromSeconds(0.5);
}
