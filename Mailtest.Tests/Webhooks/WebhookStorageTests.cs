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
        var faults = host.Services.GetRequiredService<SmtpFaultInjection>();

        var secret = await webhooks.SetUrlAsync(caller, world.EnvironmentId, "https://ci.example.com/hook");
        for (var i = 1; i <= WebhookSettings.LogSize + 10; i++)
            await webhooks.RecordAsync(new WebhookDelivery
            {
                EnvironmentId = world.EnvironmentId, DeliveryId = Guid.NewGuid(), Event = "message.captured", Attempt = i,
                AttemptedUtc = DateTime.UtcNow, Outcome = $"attempt {i}", StatusCode = 500,
            });
        await faults.SetAsync(caller, world.EnvironmentId, SmtpFaults.None with { Sender = new SmtpFaultTrigger(421, 40) });

        var view = await webhooks.GetAsync(caller, world.EnvironmentId);
        Assert.Equal(WebhookSettings.LogSize, view.RecentDeliveries.Count);
        Assert.Equal(Enumerable.Range(11, WebhookSettings.LogSize).Reverse(), view.RecentDeliveries.Select(d => d.Attempt));
        Assert.Equal(secret, (await webhooks.FindTargetAsync(world.EnvironmentId))!.Secret);
        Assert.Equal(new SmtpFaultTrigger(421, 40), (await faults.GetAsync(caller, world.EnvironmentId)).Sender);
    }
}
