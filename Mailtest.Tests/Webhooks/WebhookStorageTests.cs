using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Webhooks;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Webhooks;

/// <summary>Webhook and fault settings on each database provider: stored, read back, the delivery log trimmed.</summary>
[TestCategory(Needs.Postgres)]
public sealed class WebhookStorageTests(PostgresServer postgres)
{
    private async Task<MailtestTestHost> HostAsync(DatabaseProvider provider)
    {
        var settings = new Dictionary<string, string?> { ["Mailtest:Data:Provider"] = provider.ToString() };
        if (provider == DatabaseProvider.Postgres)
            settings["Mailtest:Data:ConnectionString"] = await postgres.CreateDatabaseAsync("webhooks");
        return await MailtestTestHost.StartAsync(settings);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task The_delivery_log_keeps_the_last_attempts_and_settings_read_back(DatabaseProvider provider)
    {
        await using var host = await HostAsync(provider);
        var world = await SandboxWorld.CreateAsync(host);
        var caller = new Mailtest.Core.Tenancy.Caller(world.OwnerUser.Id, world.OwnerUser.Email, false);
        var webhooks = host.Services.GetRequiredService<WebhookSettings>();
        var log = host.Services.GetRequiredService<WebhookDeliveryLog>();
        var faults = host.Services.GetRequiredService<SmtpFaultInjection>();

        var secret = await webhooks.SetUrlAsync(caller, world.EnvironmentId, "https://ci.example.com/hook");
        for (var i = 1; i <= WebhookDeliveryLog.LogSize + 10; i++)
            await log.RecordAsync(new WebhookDelivery
            {
                EnvironmentId = world.EnvironmentId, DeliveryId = Guid.NewGuid(), Event = "message.captured", Attempt = i,
                AttemptedUtc = DateTime.UtcNow, Outcome = $"attempt {i}", StatusCode = 500,
            });
        await faults.SetAsync(caller, world.EnvironmentId, SmtpFaults.None with { Sender = new SmtpFaultTrigger(421, 40) });

        var view = await webhooks.GetAsync(caller, world.EnvironmentId);
        Assert.Equal(WebhookDeliveryLog.LogSize, view.RecentDeliveries.Count);
        Assert.Equal(Enumerable.Range(11, WebhookDeliveryLog.LogSize).Reverse(), view.RecentDeliveries.Select(d => d.Attempt));
        Assert.Equal(secret, (await webhooks.FindTargetAsync(world.EnvironmentId))!.Secret);
        Assert.Equal(new SmtpFaultTrigger(421, 40), (await faults.GetAsync(caller, world.EnvironmentId)).Sender);
    }
    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task A_promised_retry_outlives_the_trim_and_is_claimed_once(DatabaseProvider provider)
    {
        await using var host = await HostAsync(provider);
        var world = await SandboxWorld.CreateAsync(host);
        var log = host.Services.GetRequiredService<WebhookDeliveryLog>();
        var firstAttempt = new DateTime(2026, 11, 27, 9, 0, 0, DateTimeKind.Utc);
        var due = firstAttempt.AddSeconds(30).AddTicks(1234567); // finer than PostgreSQL keeps: the claim must still match it
        WebhookDelivery Attempt(Guid deliveryId, int attempt, DateTime at, DateTime? next) => new()
        {
            EnvironmentId = world.EnvironmentId, DeliveryId = deliveryId, Event = "message.captured", MessageId = Guid.NewGuid(),
            Attempt = attempt, AttemptedUtc = at, Outcome = next is null ? "500" : "500; retrying in 10 s", StatusCode = 500, NextAttemptUtc = next,
        };
        var pending = Guid.NewGuid();
        var first = Attempt(pending, 1, firstAttempt, firstAttempt.AddSeconds(10));
        await log.RecordAsync(first);
        var second = Attempt(pending, 2, firstAttempt.AddSeconds(10), due);
        await log.RecordAsync(second, keptPromise: first.Id);
        for (var i = 0; i < WebhookDeliveryLog.LogSize + 10; i++) // other deliveries push both far past the last 50
            await log.RecordAsync(Attempt(Guid.NewGuid(), 1, firstAttempt.AddMinutes(1), null));

        var promised = Assert.Single(await log.ListPromisedRetriesAsync());
        Assert.Equal((second.Id, pending, 2, firstAttempt), (promised.EntryId, promised.DeliveryId, promised.Attempt, promised.FirstAttemptUtc));
        Assert.True(await log.ClaimAsync(promised.EntryId, due, due.AddSeconds(20)));
        Assert.False(await log.ClaimAsync(promised.EntryId, due, due.AddSeconds(20))); // another node, a moment later
        await log.RecordAsync(Attempt(pending, 3, due, null), keptPromise: promised.EntryId);
        Assert.Empty(await log.ListPromisedRetriesAsync());
    }
}
