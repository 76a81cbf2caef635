using Mailtest.Core.Audit;
using Mailtest.Core.Capture;
using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Odoo;

/// <summary>What someone (or something) may do to ir_mail_server behind Mailtest's back, and what Mailtest notices.</summary>
[TestCategory(Needs.Postgres)]
public sealed class OdooTamperTests(PostgresServer postgres, OdooRoutingHarness harness) : IClassFixture<OdooRoutingHarness>
{
    private const string Marker = "Mailtest capture (do not edit)";

    private sealed record Enabled(OdooTestDatabase Odoo, ProjectEnvironment Environment, OdooSmtpLogin Login, string DumpBefore, string Backup);

    private async Task<Enabled> EnableAsync(int version, OdooScenario scenario)
    {
        var odoo = await OdooTestDatabase.CreateAsync(postgres, version, scenario);
        var dump = await odoo.DumpAsync(postgres);
        var backup = await odoo.BackupAsync(postgres);
        var environment = await harness.CreateEnvironmentAsync(odoo.ConnectionString, version);
        var login = OdooRoutingHarness.NewLogin();
        await harness.Routing.EnableAsync(environment, login, default);
        Assert.Equal(OdooTamperStatus.Intact, (await harness.Routing.CheckAsync(environment, default)).Status);
        return new Enabled(odoo, environment, login, dump, backup);
    }

    private async Task<string> AssertTamperedAsync(ProjectEnvironment environment, string expectedInReason)
    {
        var check = await harness.Routing.CheckAsync(environment, default);
        Assert.Equal(OdooTamperStatus.Tampered, check.Status);
        Assert.Contains(expectedInReason, check.Reason);
        return check.Reason!;
    }

    [Theory]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(19)]
    public async Task Approach_C_marker_edited_is_tampering(int version)
    {
        var enabled = await EnableAsync(version, OdooScenario.SeveralRows);
        await enabled.Odoo.ExecuteAsync($"UPDATE ir_mail_server SET smtp_host = 'smtp.elsewhere.example' WHERE name = '{Marker}'");

        var reason = await AssertTamperedAsync(enabled.Environment, "smtp_host");

        Assert.Contains("Mailtest's mail server row was changed", reason);
    }

    [Fact]
    public async Task Approach_C_marker_deleted_is_tampering()
    {
        var enabled = await EnableAsync(17, OdooScenario.OneActiveRow);
        await enabled.Odoo.ExecuteAsync($"DELETE FROM ir_mail_server WHERE name = '{Marker}'");

        await AssertTamperedAsync(enabled.Environment, "was deleted from Odoo");
    }

    [Theory]
    [InlineData(16)]
    [InlineData(18)]
    public async Task Approach_C_another_server_reactivated_is_tampering(int version)
    {
        var enabled = await EnableAsync(version, OdooScenario.SeveralRows);
        await enabled.Odoo.ExecuteAsync("UPDATE ir_mail_server SET active = true WHERE name = 'Catch-all'");

        await AssertTamperedAsync(enabled.Environment, "'Catch-all' was re-activated");
    }

    [Theory]
    [InlineData(14)]
    [InlineData(15)]
    public async Task Approach_D_rewritten_row_pointed_elsewhere_is_tampering(int version)
    {
        var enabled = await EnableAsync(version, OdooScenario.SeveralRows);
        await enabled.Odoo.ExecuteAsync("UPDATE ir_mail_server SET smtp_host = 'smtp.sales.example.com', smtp_port = 587 WHERE name = 'Archived first'");

        var reason = await AssertTamperedAsync(enabled.Environment, "'Archived first' no longer points at Mailtest");

        Assert.Contains("smtp_host, smtp_port", reason);
    }

    [Theory]
    [InlineData(13)]
    [InlineData(15)]
    public async Task Approach_D_marker_edited_or_deleted_is_tampering(int version)
    {
        // No active row: D adds a marker so Odoo does not fall back to odoo.conf.
        var enabled = await EnableAsync(version, OdooScenario.OnlyArchivedRows);
        await enabled.Odoo.ExecuteAsync($"UPDATE ir_mail_server SET smtp_user = 'someone-else' WHERE name = '{Marker}'");
        await AssertTamperedAsync(enabled.Environment, "smtp_user");

        await enabled.Odoo.ExecuteAsync($"DELETE FROM ir_mail_server WHERE name = '{Marker}'");
        await AssertTamperedAsync(enabled.Environment, "was deleted from Odoo");
    }

    [Theory]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(17)]
    [InlineData(19)]
    public async Task A_restored_backup_is_tampering(int version)
    {
        var enabled = await EnableAsync(version, OdooScenario.SeveralRows);

        await enabled.Odoo.RestoreBackupAsync(postgres, enabled.Backup);

        Assert.Equal(enabled.DumpBefore, await enabled.Odoo.DumpAsync(postgres));
        await AssertTamperedAsync(enabled.Environment, "a restored backup?");
    }

    [Theory]
    [InlineData(15)]
    [InlineData(17)]
    public async Task Re_enable_after_tampering_routes_again_and_disable_still_restores_the_original(int version)
    {
        var enabled = await EnableAsync(version, OdooScenario.SeveralRows);
        if (version >= 16)
            await enabled.Odoo.ExecuteAsync($"UPDATE ir_mail_server SET active = true WHERE name = 'Sales'; UPDATE ir_mail_server SET smtp_port = 25 WHERE name = '{Marker}'");
        else
            await enabled.Odoo.ExecuteAsync("UPDATE ir_mail_server SET smtp_host = 'smtp.sales.example.com' WHERE name = 'Sales'");
        await AssertTamperedAsync(enabled.Environment, version >= 16 ? "smtp_port" : "'Sales'");

        var login = OdooRoutingHarness.NewLogin();
        await harness.Routing.EnableAsync(enabled.Environment, login, default);

        Assert.Equal(OdooTamperStatus.Intact, (await harness.Routing.CheckAsync(enabled.Environment, default)).Status);
        var choice = OdooServerChoice.Choose(version, await enabled.Odoo.ReadServersAsync(), "sales@example.com");
        Assert.Equal((OdooRoutingHarness.PublicHost, login.Password), (choice.Host, choice.Password));
        await harness.Routing.DisableAsync(enabled.Environment, default);
        Assert.Equal(enabled.DumpBefore, await enabled.Odoo.DumpAsync(postgres));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(18)]
    [InlineData(19)]
    public async Task A_neutralize_is_repaired_and_disable_then_leaves_Odoo_neutralized(int version)
    {
        var enabled = await EnableAsync(version, OdooScenario.SeveralRows);
        await enabled.Odoo.ExecuteAsync(OdooTestDatabase.Script("neutralize.sql"));
        var neutralized = await enabled.Odoo.DumpAsync(postgres);

        var check = await harness.Routing.CheckAsync(enabled.Environment, default);

        Assert.Equal(OdooTamperStatus.RepairedAfterNeutralize, check.Status);
        var rows = await enabled.Odoo.ReadServersAsync();
        Assert.False(rows.Single(r => r.Name == "neutralization - disable emails").Active);
        var choice = OdooServerChoice.Choose(version, rows, "sales@example.com");
        Assert.Equal((OdooRoutingHarness.PublicHost, enabled.Login.Username, enabled.Login.Password), (choice.Host, choice.User, choice.Password));
        Assert.Equal(OdooTamperStatus.Intact, (await harness.Routing.CheckAsync(enabled.Environment, default)).Status);

        // The neutralize switched production servers off: disabling Mailtest must not switch them back on.
        // Disable leaves the table as the neutralize left it, less Mailtest's own (archived) row.
        await harness.Routing.DisableAsync(enabled.Environment, default);
        var expected = string.Join('\n', neutralized.Split('\n').Where(line => !line.Contains(Marker)));
        Assert.NotEqual(neutralized, expected);
        Assert.Equal(expected, await enabled.Odoo.DumpAsync(postgres));
    }

    [Fact]
    public async Task A_neutralized_production_copy_without_our_row_gets_the_marker_back()
    {
        var enabled = await EnableAsync(17, OdooScenario.SeveralRows);
        // A staging refresh: production's rows (no marker) come back, then odoo-bin neutralize runs.
        await enabled.Odoo.ExecuteAsync($"DELETE FROM ir_mail_server WHERE name = '{Marker}'");
        await enabled.Odoo.ExecuteAsync(OdooTestDatabase.Script("neutralize.sql"));

        Assert.Equal(OdooTamperStatus.RepairedAfterNeutralize, (await harness.Routing.CheckAsync(enabled.Environment, default)).Status);

        var rows = await enabled.Odoo.ReadServersAsync();
        var marker = Assert.Single(rows, r => r.Name == Marker);
        Assert.True(marker.Active);
        Assert.Equal(enabled.Login.Password, OdooServerChoice.Choose(17, rows, "user@other.org").Password);
        Assert.Equal(OdooTamperStatus.Intact, (await harness.Routing.CheckAsync(enabled.Environment, default)).Status);
    }

    [Fact]
    public async Task AUTH_is_refused_once_tampering_is_found_and_the_environment_says_why()
    {
        var enabled = await EnableAsync(17, OdooScenario.SeveralRows);
        var guard = harness.Services.GetServices<ISmtpLoginGuard>().OfType<OdooTamperGuard>().Single();
        Assert.Null(await guard.CheckAsync(enabled.Environment, default));
        await enabled.Odoo.ExecuteAsync($"DELETE FROM ir_mail_server WHERE name = '{Marker}'");
        var later = await harness.ReloadAsync(enabled.Environment);

        // A fresh guard: the first one may answer from its short cache.
        var fresh = ActivatorUtilities.CreateInstance<OdooTamperGuard>(harness.Services);
        var reply = await fresh.CheckAsync(later, default);

        Assert.Equal("535 5.7.8 Authentication failed: tampering detected in Odoo's mail server settings; re-enable Mailtest to fix", reply.ToString());
        var stored = await harness.ReloadAsync(enabled.Environment);
        Assert.Equal(MailtestState.TamperDetected, stored.MailtestState);
        Assert.Contains("was deleted from Odoo", stored.TamperReason);
        var audit = await harness.QueryAsync(db => db.AuditEntries.Where(a => a.EnvironmentId == enabled.Environment.Id).ToListAsync());
        var entry = Assert.Single(audit);
        Assert.Equal(("odoo.tamper_detected", "system"), (entry.Action, entry.Actor));
        Assert.NotNull(entry.OrganizationId);
        // Already marked: refused without asking Odoo again.
        Assert.Equal(OdooTamperGuard.Refusal, await guard.CheckAsync(stored, default));
    }

    [Fact]
    public async Task AUTH_after_a_neutralize_goes_through_and_the_repair_is_audited()
    {
        var enabled = await EnableAsync(18, OdooScenario.OneActiveRow);
        await enabled.Odoo.ExecuteAsync(OdooTestDatabase.Script("neutralize.sql"));
        var guard = ActivatorUtilities.CreateInstance<OdooTamperGuard>(harness.Services);

        Assert.Null(await guard.CheckAsync(enabled.Environment, default));

        Assert.Equal(MailtestState.Enabled, (await harness.ReloadAsync(enabled.Environment)).MailtestState);
        var entry = Assert.Single(await harness.QueryAsync(db => db.AuditEntries.Where(a => a.EnvironmentId == enabled.Environment.Id).ToListAsync()));
        Assert.Equal("odoo.neutralize_repaired", entry.Action);
    }

    [Fact]
    public async Task The_sweep_marks_tampered_environments_and_leaves_intact_ones()
    {
        var intact = await EnableAsync(16, OdooScenario.OneActiveRow);
        var tampered = await EnableAsync(14, OdooScenario.OneActiveRow);
        await tampered.Odoo.ExecuteAsync("UPDATE ir_mail_server SET smtp_pass = 'changed-by-hand'");

        await ActivatorUtilities.CreateInstance<OdooTamperSweepJob>(harness.Services).SweepAsync(default);

        Assert.Equal(MailtestState.Enabled, (await harness.ReloadAsync(intact.Environment)).MailtestState);
        var marked = await harness.ReloadAsync(tampered.Environment);
        Assert.Equal(MailtestState.TamperDetected, marked.MailtestState);
        Assert.Contains("smtp_pass", marked.TamperReason);
        Assert.DoesNotContain("changed-by-hand", marked.TamperReason);
    }

    [Fact]
    public async Task After_a_restored_backup_a_server_that_reuses_the_marker_id_is_never_deleted()
    {
        var enabled = await EnableAsync(17, OdooScenario.OneActiveRow);
        var markerId = (await enabled.Odoo.ReadServersAsync()).Single(r => r.Name == Marker).Id;
        // The backup also rewinds the id sequence, so the next server someone adds gets the marker's old id.
        await enabled.Odoo.RestoreBackupAsync(postgres, enabled.Backup);
        var added = await enabled.Odoo.AddServerAsync("New relay", "relay.new.example.com", 587, "starttls", "new@example.com", "new-secret", 15, active: true);
        Assert.Equal(markerId, added);
        var withNewRelay = await enabled.Odoo.DumpAsync(postgres);
        await AssertTamperedAsync(enabled.Environment, "smtp_host");

        await harness.Routing.EnableAsync(enabled.Environment, OdooRoutingHarness.NewLogin(), default);
        Assert.Contains(await enabled.Odoo.ReadServersAsync(), r => r.Name == "New relay");
        await harness.Routing.DisableAsync(enabled.Environment, default);

        Assert.Equal(withNewRelay, await enabled.Odoo.DumpAsync(postgres));
    }
}
