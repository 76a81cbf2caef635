using System.Text.Json;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Mailtest.Core.Webhooks;
using Mailtest.Tests.Infrastructure;
using Mailtest.Web.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using Npgsql;

namespace Mailtest.Tests.Webhooks;

/// <summary>
/// At-least-once across restarts: a retry the log promised and a notification still queued when the
/// server stopped are delivered by the next start (same <c>Mailtest-Delivery</c>), over the same data
/// directory on SQLite and the same database on PostgreSQL, and two nodes sharing a database make a
/// promised attempt once. A promise no node holds (its node stopped, or the full queue could not take it)
/// is taken up by a running server's sweep, without a restart. Real SMTP, a real HTTP receiver, real databases.
/// </summary>
[TestCategory(Needs.Postgres)]
public sealed class WebhookRestartTests(PostgresServer postgres) : IAsyncLifetime
{
    // Both keys fixed, so that several hosts over one PostgreSQL database (nodes) read each other's secrets.
    private static readonly string EncryptionKey = Convert.ToBase64String(new byte[32].Select((_, i) => (byte)i).ToArray());
    private static readonly string CredentialHashKey = Convert.ToBase64String(new byte[32].Select((_, i) => (byte)(i + 100)).ToArray());

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-webhook-restart-{Guid.NewGuid():N}");
    private WebhookListener _receiver = null!;

    public async ValueTask InitializeAsync() => _receiver = await WebhookListener.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _receiver.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static Dictionary<string, string?> Settings(DatabaseProvider provider, string? connectionString, TimeSpan firstRetryAfter) => new()
    {
        ["Mailtest:Data:Provider"] = provider.ToString(),
        ["Mailtest:Data:ConnectionString"] = connectionString,
        ["Mailtest:Security:EncryptionKey"] = EncryptionKey,
        ["Mailtest:Security:CredentialHashKey"] = CredentialHashKey,
        ["Mailtest:Webhooks:AllowPrivateAddresses"] = "true", // the receiver is on loopback
        ["Mailtest:Webhooks:Timeout"] = "00:00:02",
        ["Mailtest:Webhooks:FirstRetryAfter"] = firstRetryAfter.ToString(),
        ["Mailtest:Webhooks:MaxRetryInterval"] = firstRetryAfter.ToString(),
        ["Mailtest:Webhooks:RetryFor"] = "00:10:00",
    };

    private async Task<string?> ConnectionStringAsync(DatabaseProvider provider) =>
        provider == DatabaseProvider.Postgres ? await postgres.CreateDatabaseAsync("webhook_restart") : null;

    private Task<MailtestTestHost> StartAsync(Dictionary<string, string?> settings, CapturedLogs? logs = null, string? dataDirectory = null) =>
        MailtestTestHost.StartAsync(settings, dataDirectory: dataDirectory ?? _dataDirectory,
            configure: logs is null ? null : builder => builder.Logging.AddProvider(logs).AddFilter<CapturedLogs>(typeof(WebhookDispatcher).FullName, LogLevel.Debug));

    private async Task<Caller> SubscribeAsync(MailtestTestHost host, SandboxWorld world)
    {
        var caller = new Caller(world.OwnerUser.Id, world.OwnerUser.Email, false);
        await host.Services.GetRequiredService<WebhookSettings>().SetUrlAsync(caller, world.EnvironmentId, _receiver.Url.ToString());
        return caller;
    }

    private static MimeMessage Mail(string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("shop@acme.example"));
        message.To.Add(MailboxAddress.Parse("customer@client.example"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Your order has shipped." };
        return message;
    }

    /// <summary>The delivery log, newest first, as the environment page reads it.</summary>
    private static async Task<IReadOnlyList<WebhookDelivery>> LogAsync(MailtestTestHost host, Caller caller, Guid environmentId) =>
        (await host.Services.GetRequiredService<WebhookSettings>().GetAsync(caller, environmentId)).RecentDeliveries;

    private static async Task<IReadOnlyList<WebhookDelivery>> LogUntilAsync(MailtestTestHost host, Caller caller, Guid environmentId, Func<IReadOnlyList<WebhookDelivery>, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var log = await LogAsync(host, caller, environmentId);
            if (done(log)) return log;
            Assert.True(DateTime.UtcNow < deadline, $"no {what} within 60 s");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The next request after the <paramref name="seen"/> already received (the listener keeps every one in order).</summary>
    private async Task<ReceivedWebhook> NextAfterAsync(int seen)
    {
        while (true)
        {
            var next = await _receiver.NextAsync(TimeSpan.FromSeconds(30));
            if (next.Index >= seen) return next;
        }
    }

    /// <summary>A host whose receiver answers 503 captures one mail, logs the retry it promises, and stops.</summary>
    private async Task<(Guid EnvironmentId, Caller Caller)> PromiseRetryAndStopAsync(Dictionary<string, string?> settings, string subject)
    {
        _receiver.Answer = (_, _) => Task.FromResult(503);
        await using var host = await StartAsync(settings);
        var world = await SandboxWorld.CreateAsync(host);
        var caller = await SubscribeAsync(host, world);
        await world.SendAsync(Mail(subject));
        await LogUntilAsync(host, caller, world.EnvironmentId, log => log.Any(d => d.Outcome.Contains("retrying in")), "retry promised");
        return (world.EnvironmentId, caller);
    }

    private static string Subject(ReceivedWebhook received) =>
        JsonDocument.Parse(received.Body).RootElement.GetProperty("message").GetProperty("subject").GetString()!;

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task A_retry_promised_before_a_restart_is_delivered_after_it_with_the_same_delivery_id(DatabaseProvider provider)
    {
        var settings = Settings(provider, await ConnectionStringAsync(provider), TimeSpan.FromMilliseconds(200));
        var (environmentId, caller) = await PromiseRetryAndStopAsync(settings, "Order SO042 shipped");
        var failed = _receiver.All.ToList(); // every attempt of the first run has been answered (a stop lets an attempt finish)
        _receiver.Answer = (_, _) => Task.FromResult(200);

        await using var after = await StartAsync(settings);
        var delivered = await NextAfterAsync(failed.Count);

        Assert.Equal("Order SO042 shipped", Subject(delivered));
        Assert.Single(failed.Select(f => f.Headers["Mailtest-Delivery"]).Append(delivered.Headers["Mailtest-Delivery"]).Distinct());
        var log = await LogUntilAsync(after, caller, environmentId, l => l.Any(d => d.Succeeded), "successful attempt logged");
        // Every attempt in order, the last one after the restart and successful; nothing is promised any more.
        Assert.Equal(Enumerable.Range(1, failed.Count + 1).Reverse(), log.Select(d => d.Attempt));
        Assert.Equal([true, .. Enumerable.Repeat(false, failed.Count)], log.Select(d => d.Succeeded));
        Assert.All(log, d => Assert.Equal(Guid.Parse(delivered.Headers["Mailtest-Delivery"]), d.DeliveryId));
        Assert.All(log.Skip(1), d => Assert.Contains("503", d.Outcome));
        Assert.All(log, d => Assert.Null(d.NextAttemptUtc));
        Assert.Equal(failed.Count + 1, _receiver.All.Count);
    }

    [Fact]
    public async Task Notifications_still_queued_when_the_server_stops_are_delivered_by_the_next_start()
    {
        var settings = Settings(DatabaseProvider.Sqlite, null, TimeSpan.FromSeconds(1));
        settings["Mailtest:Webhooks:Concurrency"] = "1"; // one delivery at a time, so what is queued is known
        var receiverBusy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _receiver.Answer = async (index, aborted) =>
        {
            if (index == 0) await receiverBusy.Task.WaitAsync(aborted); // a slow receiver: the other notifications queue behind it
            return 200;
        };
        Guid environmentId;
        Caller caller;
        await using (var before = await StartAsync(settings))
        {
            var world = await SandboxWorld.CreateAsync(before);
            environmentId = world.EnvironmentId;
            caller = await SubscribeAsync(before, world);
            await world.SendAsync(Mail("First"));
            await _receiver.NextAsync(); // held by the receiver
            for (var i = 1; i <= 3; i++)
                await world.SendAsync(Mail($"Queued {i}"));
            // The server stops: the dispatcher stops taking notifications, the attempt in flight finishes and is logged.
            var stopping = before.Services.GetRequiredService<WebhookDispatcher>().StopAsync(TestContext.Current.CancellationToken);
            receiverBusy.SetResult();
            await stopping;
        }
        Assert.Single(_receiver.All);

        await using var after = await StartAsync(settings);
        var delivered = new[] { await NextAfterAsync(1), await NextAfterAsync(1), await NextAfterAsync(1) };

        Assert.Equal(["Queued 1", "Queued 2", "Queued 3"], delivered.Select(Subject));
        // The delivery id of a message's notification is the message's id, so a duplicate after a restart is recognizable.
        Assert.All(delivered, d => Assert.Equal(
            JsonDocument.Parse(d.Body).RootElement.GetProperty("message").GetProperty("id").GetString(), d.Headers["Mailtest-Delivery"]));
        var log = await LogUntilAsync(after, caller, environmentId, l => l.Count(d => d.Succeeded) == 4, "four successful attempts logged");
        Assert.All(log, d => Assert.Equal(1, d.Attempt));
        Assert.Equal(4, _receiver.All.Count);
    }

    [Fact]
    public async Task A_promised_retry_of_a_message_deleted_before_the_restart_is_given_up_and_says_so()
    {
        var settings = Settings(DatabaseProvider.Sqlite, null, TimeSpan.FromMilliseconds(200));
        _receiver.Answer = (_, _) => Task.FromResult(503);
        Guid environmentId;
        Caller caller;
        await using (var before = await StartAsync(settings))
        {
            var world = await SandboxWorld.CreateAsync(before);
            environmentId = world.EnvironmentId;
            caller = await SubscribeAsync(before, world);
            await world.SendAsync(Mail("Deleted soon"));
            var first = await _receiver.NextAsync();
            var messageId = JsonDocument.Parse(first.Body).RootElement.GetProperty("message").GetProperty("id").GetGuid();
            Assert.True(await before.Services.GetRequiredService<IMessageStore>().DeleteAsync(messageId, [environmentId], TestContext.Current.CancellationToken));
            await LogUntilAsync(before, caller, environmentId, log => log.Any(d => d.Outcome.Contains("retrying in")), "retry promised");
        }
        var attemptsBefore = _receiver.All.Count;

        await using var after = await StartAsync(settings);
        var log = await LogUntilAsync(after, caller, environmentId, l => l[0].Outcome.Contains("gave up"), "give-up logged");

        Assert.EndsWith("; then gave up: the message was deleted", log[0].Outcome);
        Assert.Null(log[0].NextAttemptUtc);
        Assert.Equal(attemptsBefore, log.Count); // no attempt after the restart
        Assert.Equal(attemptsBefore, _receiver.All.Count);
    }

    [Fact]
    public async Task Two_nodes_sharing_a_PostgreSQL_database_make_a_promised_attempt_once()
    {
        var connectionString = await ConnectionStringAsync(DatabaseProvider.Postgres);
        var settings = Settings(DatabaseProvider.Postgres, connectionString, TimeSpan.FromMilliseconds(200));
        var (environmentId, caller) = await PromiseRetryAndStopAsync(settings, "Order SO043 shipped");
        var failed = _receiver.All.Count;
        _receiver.Answer = (_, _) => Task.FromResult(200);
        // The promise is due at once, so both nodes race to claim it. Until both have started, the test holds
        // its row locked: neither can take it before the other has read it, and both claims meet in PostgreSQL.
        await using var holder = new NpgsqlConnection(connectionString);
        await holder.OpenAsync(TestContext.Current.CancellationToken);
        await using var hold = await holder.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await using (var lockPromise = new NpgsqlCommand("""SELECT 1 FROM "WebhookDeliveries" WHERE "NextAttemptUtc" IS NOT NULL FOR UPDATE""", holder, hold))
            Assert.Equal(1, await lockPromise.ExecuteScalarAsync(TestContext.Current.CancellationToken));

        CapturedLogs[] logs = [new(), new()];
        string[] directories = [_dataDirectory + "-a", _dataDirectory + "-b"];
        var nodes = await Task.WhenAll(logs.Select((l, i) => StartAsync(settings, l, directories[i])));
        try
        {
            Assert.All(logs, l => Assert.Contains(l.Entries, e => e.Message.StartsWith("Webhooks: resuming 1 promised retries", StringComparison.Ordinal)));
            await hold.RollbackAsync(TestContext.Current.CancellationToken);

            var delivered = await NextAfterAsync(failed);
            Assert.Equal("Order SO043 shipped", Subject(delivered));
            // The other node finds the promise taken.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!logs.Any(l => l.Entries.Any(e => e.Message.Contains("was taken by another node"))))
            {
                Assert.True(DateTime.UtcNow < deadline, "the second node never tried to claim the promise");
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
            var log = await LogUntilAsync(nodes[1], caller, environmentId, l => l.Any(d => d.Succeeded), "successful attempt logged");

            Assert.Single(logs, l => l.Entries.Any(e => e.Message.Contains("was taken by another node")));
            Assert.Equal(failed + 1, _receiver.All.Count);
            Assert.Equal(Enumerable.Range(1, failed + 1).Reverse(), log.Select(d => d.Attempt));
            Assert.Single(log, d => d.Succeeded);
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
            foreach (var directory in directories)
                try { Directory.Delete(directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public async Task A_retry_promised_by_a_node_that_stopped_is_made_by_a_node_already_running_without_a_restart()
    {
        // The retry comes due 5 s after the first attempt: after the node that promised it has stopped.
        var settings = Settings(DatabaseProvider.Postgres, await ConnectionStringAsync(DatabaseProvider.Postgres), TimeSpan.FromSeconds(5));
        settings["Mailtest:Webhooks:SweepEvery"] = "00:00:00.200";
        var runningDirectory = _dataDirectory + "-running";
        // This node starts first, so the promise is not in the log when it starts: only its sweep can find it.
        await using var running = await StartAsync(settings, dataDirectory: runningDirectory);
        try
        {
            var (environmentId, caller) = await PromiseRetryAndStopAsync(settings, "Order SO044 shipped");
            var failed = _receiver.All.ToList();
            Assert.Single(failed);
            _receiver.Answer = (_, _) => Task.FromResult(200);

            var delivered = await NextAfterAsync(failed.Count);

            Assert.Equal("Order SO044 shipped", Subject(delivered));
            Assert.Single(failed.Select(f => f.Headers["Mailtest-Delivery"]).Append(delivered.Headers["Mailtest-Delivery"]).Distinct());
            var log = await LogUntilAsync(running, caller, environmentId, l => l.Any(d => d.Succeeded), "successful attempt logged");
            Assert.Equal(Enumerable.Range(1, failed.Count + 1).Reverse(), log.Select(d => d.Attempt));
            Assert.All(log, d => Assert.Null(d.NextAttemptUtc));
            Assert.Equal(failed.Count + 1, _receiver.All.Count);
        }
        finally
        {
            await running.DisposeAsync();
            try { Directory.Delete(runningDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public async Task A_retry_the_full_queue_could_not_take_is_made_once_it_has_room_without_a_restart()
    {
        var settings = Settings(DatabaseProvider.Sqlite, null, TimeSpan.FromSeconds(5));
        settings["Mailtest:Webhooks:Concurrency"] = "1";
        settings["Mailtest:Webhooks:QueueCapacity"] = "1";
        settings["Mailtest:Webhooks:SweepEvery"] = "00:00:00.200";
        settings["Mailtest:Webhooks:Timeout"] = "00:01:00"; // the held attempt waits for the test, not for a timeout
        var receiverBusy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _receiver.Answer = async (index, aborted) =>
        {
            if (index == 0) return 503; // the first message's first attempt: a retry is promised in 5 s
            if (index == 1) await receiverBusy.Task.WaitAsync(aborted); // the second message holds the only sender
            return 200;
        };
        var logs = new CapturedLogs();
        await using var host = await StartAsync(settings, logs);
        var world = await SandboxWorld.CreateAsync(host);
        var caller = await SubscribeAsync(host, world);
        await world.SendAsync(Mail("Retried"));
        await LogUntilAsync(host, caller, world.EnvironmentId, log => log.Any(d => d.Outcome.Contains("retrying in")), "retry promised");
        await world.SendAsync(Mail("Holding the sender"));
        var firstAttempt = await _receiver.NextAsync(TimeSpan.FromSeconds(30)); // answered 503
        await _receiver.NextAsync(TimeSpan.FromSeconds(30)); // held
        await world.SendAsync(Mail("Filling the queue"));
        // The retry comes due while the queue is full: it stays promised in the log.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!logs.Entries.Any(e => e.Message.StartsWith("Webhook queue full: attempt 2 of the notification", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the retry never met the full queue: " + string.Join(" | ", logs.Entries.Select(e => e.Message)) + " received " + string.Join(",", _receiver.All.Select(Subject)));
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        receiverBusy.SetResult();
        var delivered = new[] { await NextAfterAsync(2), await NextAfterAsync(2) };

        Assert.Equal(["Filling the queue", "Retried"], delivered.Select(Subject));
        Assert.Equal(firstAttempt.Headers["Mailtest-Delivery"], delivered[1].Headers["Mailtest-Delivery"]);
        var log = await LogUntilAsync(host, caller, world.EnvironmentId, l => l.Count(d => d.Succeeded) == 3, "three successful attempts logged");
        Assert.Equal(2, Assert.Single(log, d => d.Attempt > 1).Attempt);
        Assert.All(log, d => Assert.Null(d.NextAttemptUtc));
        Assert.Equal(4, _receiver.All.Count);
    }
}
