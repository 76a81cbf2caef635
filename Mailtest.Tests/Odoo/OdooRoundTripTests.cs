using Mailtest.Core.Odoo;
using Mailtest.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Tests.Odoo;

/// <summary>
/// Per Odoo version and mail server setup: after enable the server Odoo itself would choose is
/// Mailtest's, after rotation it carries the new password, and after disable a data dump of
/// ir_mail_server equals the one taken before enable.
/// </summary>
[TestCategory(Needs.Postgres)]
public sealed class OdooRoundTripTests(PostgresServer postgres, OdooRoutingHarness harness) : IClassFixture<OdooRoutingHarness>
{
    private static readonly string[] Senders = ["sales@example.com", "billing@example.net", "someone@example.com", "user@other.org"];

    public static TheoryData<int, OdooScenario> Cases()
    {
        var data = new TheoryData<int, OdooScenario>();
        foreach (var version in new[] { 13, 14, 15, 16, 17, 18, 19 })
        {
            foreach (var scenario in new[] { OdooScenario.NoRows, OdooScenario.OneActiveRow, OdooScenario.SeveralRows, OdooScenario.OnlyArchivedRows, OdooScenario.TemplateWithExplicitServer })
                data.Add(version, scenario);
            if (version >= 16)
            {
                data.Add(version, OdooScenario.OAuthColumns);
                data.Add(version, OdooScenario.Neutralized);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Odoo_sends_to_Mailtest_after_enable_and_rotate_and_disable_restores_the_table_exactly(int version, OdooScenario scenario)
    {
        var odoo = await OdooTestDatabase.CreateAsync(postgres, version, scenario);
        var before = await odoo.DumpAsync(postgres);
        var rowsBefore = await odoo.ReadServersAsync();
        Assert.Contains("COPY public.ir_mail_server", before);
        Assert.All(rowsBefore, row => Assert.Contains(row.Name, before));
        var environment = await harness.CreateEnvironmentAsync(odoo.ConnectionString, version);
        var forcedServer = rowsBefore.SingleOrDefault(r => r.Name == "Marketing relay");

        var inspection = await harness.Routing.InspectAsync(environment, default);
        Assert.Equal(version, inspection.Version);
        Assert.Equal(version >= 16 ? OdooRoutingApproach.C : OdooRoutingApproach.D, inspection.Approach);
        Assert.Equal(rowsBefore.Count, inspection.ServerCount);
        Assert.Equal(rowsBefore.Count(r => r.Active), inspection.ActiveServerCount);
        if (forcedServer is not null && version >= 16) Assert.Equal([OdooTestDatabase.ExplicitTemplateName], inspection.TemplatesWithExplicitServer);
        else Assert.Empty(inspection.TemplatesWithExplicitServer);

        var login = OdooRoutingHarness.NewLogin();
        await harness.Routing.EnableAsync(environment, login, default);
        await AssertOdooSendsToMailtestAsync(odoo, login, forcedServer);
        Assert.Equal(OdooTamperStatus.Intact, (await harness.Routing.CheckAsync(environment, default)).Status);

        var rotated = OdooRoutingHarness.NewLogin();
        await harness.Routing.RotateAsync(environment, rotated, default);
        await AssertOdooSendsToMailtestAsync(odoo, rotated, forcedServer);
        Assert.Equal(OdooTamperStatus.Intact, (await harness.Routing.CheckAsync(environment, default)).Status);

        await harness.Routing.DisableAsync(environment, default);
        Assert.Equal(before, await odoo.DumpAsync(postgres));
        Assert.False(await harness.QueryAsync(db => db.OdooRoutingSnapshots.AnyAsync(s => s.EnvironmentId == environment.Id)));
    }

    [Fact]
    public async Task The_snapshot_keeps_Odoos_own_passwords_sealed()
    {
        var odoo = await OdooTestDatabase.CreateAsync(postgres, 17, OdooScenario.SeveralRows);
        var environment = await harness.CreateEnvironmentAsync(odoo.ConnectionString, 17);
        var login = OdooRoutingHarness.NewLogin();

        await harness.Routing.EnableAsync(environment, login, default);

        var snapshot = await harness.QueryAsync(db => db.OdooRoutingSnapshots.SingleAsync(s => s.EnvironmentId == environment.Id));
        Assert.Equal(OdooRoutingApproach.C, snapshot.Approach);
        Assert.DoesNotContain("sales-secret", System.Text.Encoding.UTF8.GetString(snapshot.SealedRows));
        Assert.DoesNotContain(login.Password, System.Text.Encoding.UTF8.GetString(snapshot.SealedSmtpPassword));
    }

    [Fact]
    public async Task A_saas_version_string_is_recognised()
    {
        var odoo = await OdooTestDatabase.CreateAsync(postgres, 17, OdooScenario.OneActiveRow, reportedVersion: "saas~17.2.1.0");
        var environment = await harness.CreateEnvironmentAsync(odoo.ConnectionString, 17);

        var inspection = await harness.Routing.InspectAsync(environment, default);

        Assert.Equal(17, inspection.Version);
        Assert.Equal(OdooRoutingApproach.C, inspection.Approach);
    }

    private static async Task AssertOdooSendsToMailtestAsync(OdooTestDatabase odoo, Core.Odoo.OdooSmtpLogin login, OdooServerRow? forcedServer)
    {
        var rows = await odoo.ReadServersAsync();
        foreach (var sender in Senders)
            AssertMailtest(OdooServerChoice.Choose(odoo.Version, rows, sender), login, sender);
        if (forcedServer is null) return;
        var forced = OdooServerChoice.Choose(odoo.Version, rows, "sales@example.com", forcedServer.Id);
        if (odoo.Version >= 16)
            Assert.Equal("The server \"Marketing relay\" cannot be used because it is archived.", forced.Error);
        else
            AssertMailtest(forced, login, "a template forcing 'Marketing relay'");
    }

    private static void AssertMailtest(OdooConnectionChoice choice, Core.Odoo.OdooSmtpLogin login, string what)
    {
        Assert.True(choice.Error is null, $"{what}: {choice.Error}");
        Assert.True(
            choice is { Host: OdooRoutingHarness.PublicHost, Port: OdooRoutingHarness.PublicPort, Encryption: "starttls" }
            && choice.User == login.Username && choice.Password == login.Password,
            $"{what}: Odoo would send through {choice.ServerName ?? "odoo.conf"} at {choice.Host}:{choice.Port} ({choice.Encryption}) as {choice.User}");
    }
}
