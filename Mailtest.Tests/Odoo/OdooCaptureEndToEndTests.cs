using System.Diagnostics;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Odoo;

/// <summary>
/// The whole path on the real host: the lifecycle enables Mailtest on an Odoo database, Python's
/// smtplib sends the way Odoo does with the values of the row Odoo would choose, and the mail
/// arrives in Mailtest; after tampering the same login is refused at AUTH; disable restores Odoo.
/// </summary>
[TestCategory(Needs.Postgres)]
public sealed class OdooCaptureEndToEndTests(PostgresServer postgres)
{
    [Theory]
    [InlineData(14)]
    [InlineData(17)]
    public async Task Mail_Odoo_sends_with_its_chosen_server_arrives_in_Mailtest_until_Odoo_is_tampered_with(int version)
    {
        var smtpPort = PostgresServer.FreeLoopbackPort();
        await using var host = await MailtestTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Mailtest:Smtp:Port"] = smtpPort.ToString(),
            ["Mailtest:Smtp:PublicHost"] = "127.0.0.1",
            // Every AUTH asks Odoo, so the tampering below is seen at the next login.
            ["Mailtest:Odoo:TamperCheckCacheDuration"] = "00:00:00",
        });
        var odoo = await OdooTestDatabase.CreateAsync(postgres, version, OdooScenario.SeveralRows);
        var before = await odoo.DumpAsync(postgres);
        var (caller, environmentId) = await SceneAsync(host, odoo, version);
        var lifecycle = host.Services.GetRequiredService<MailtestLifecycle>();
        var store = host.Services.GetRequiredService<IMessageStore>();

        var enabled = await lifecycle.EnableAsync(caller, environmentId);

        Assert.Equal("sent", await SendAsOdooAsync(odoo, "Order S00001"));
        Assert.Equal(1, await store.CountAsync(environmentId));

        var rotated = await lifecycle.RotateAsync(caller, environmentId);
        Assert.NotEqual(enabled.Password, rotated.Password);
        Assert.Equal("sent", await SendAsOdooAsync(odoo, "Order S00002"));
        Assert.Equal(2, await store.CountAsync(environmentId));

        // Someone points a server back at production behind Mailtest's back.
        await odoo.ExecuteAsync(version >= 16
            ? "UPDATE ir_mail_server SET active = true WHERE name = 'Sales'"
            : "UPDATE ir_mail_server SET smtp_host = 'smtp.sales.example.com' WHERE name = 'Archived first'");
        // On 17 Odoo now picks 'Sales' for this sender; a mail that still goes through our row is refused.
        var refused = await SendAsOdooAsync(odoo, "Order S00003", throughRow: version >= 16 ? "Mailtest capture (do not edit)" : null);
        // smtplib tries PLAIN, then LOGIN: both are answered with the tamper text, which Odoo records on the mail.
        Assert.Equal("refused 535 5.7.8 Authentication failed: tampering detected in Odoo's mail server settings; re-enable Mailtest to fix", refused);
        Assert.Equal(2, await store.CountAsync(environmentId));
        await using (var db = await host.Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync())
            Assert.Equal(MailtestState.TamperDetected, (await db.Environments.SingleAsync(e => e.Id == environmentId)).MailtestState);

        await lifecycle.EnableAsync(caller, environmentId); // the banner's Re-enable
        Assert.Equal("sent", await SendAsOdooAsync(odoo, "Order S00004"));
        Assert.Equal(3, await store.CountAsync(environmentId));

        await lifecycle.DisableAsync(caller, environmentId);
        Assert.Equal(before, await odoo.DumpAsync(postgres));
    }

    private static async Task<(Caller, Guid)> SceneAsync(MailtestTestHost host, OdooTestDatabase odoo, int version)
    {
        var administration = host.Services.GetRequiredService<TenancyAdministration>();
        var organization = await administration.CreateOrganizationAsync("Acme", Plan.Pro);
        var owner = await administration.CreateUserAsync($"owner-{Guid.NewGuid():N}@example.test", "long enough password", isPlatformAdmin: false);
        await administration.AddMemberAsync(organization.Id, owner.Email, OrganizationRole.Owner);
        var project = await administration.CreateProjectAsync(organization.Id, "Shop");
        var environment = await administration.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
        await using (var db = await host.Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync())
        {
            var stored = await db.Environments.SingleAsync(e => e.Id == environment.Id);
            stored.OdooVersion = version;
            stored.OdooConnectionEncrypted = host.Services.GetRequiredService<OdooConnectionSecret>().Seal(stored.Id, odoo.ConnectionString);
            await db.SaveChangesAsync();
        }
        return (new Caller(owner.Id, owner.Email, false, "192.0.2.10"), environment.Id);
    }

    /// <summary>Sends with the values of the row Odoo would choose (or of the named row, when Odoo's own choice is no longer ours).</summary>
    private static async Task<string> SendAsOdooAsync(OdooTestDatabase odoo, string subject, string? throughRow = null)
    {
        var rows = await odoo.ReadServersAsync();
        var choice = throughRow is null
            ? OdooServerChoice.Choose(odoo.Version, rows, "sales@example.com")
            : OdooConnectionChoice.Of(rows.Single(r => r.Name == throughRow));
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "TestData", "Odoo", "odoo_send_row.py"),
                     choice.Host, choice.Port.ToString(), choice.Encryption, choice.User ?? "", choice.Password ?? "", subject })
            start.ArgumentList.Add(argument);
        using var python = Process.Start(start)!;
        var output = python.StandardOutput.ReadToEndAsync();
        var errors = python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        Assert.True(python.ExitCode == 0, $"smtplib failed: {await errors}");
        return (await output).Trim();
    }
}
