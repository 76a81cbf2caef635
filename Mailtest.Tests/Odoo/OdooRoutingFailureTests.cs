using Mailtest.Core.Capture;
using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Mailtest.Tests.Odoo;

/// <summary>When Mailtest cannot or must not change Odoo: Odoo is left as it was, and the message says why, without secrets.</summary>
[TestCategory(Needs.Postgres)]
public sealed class OdooRoutingFailureTests(PostgresServer postgres, OdooRoutingHarness harness) : IClassFixture<OdooRoutingHarness>
{
    private async Task<OdooRoutingException> AssertRefusedAsync(ProjectEnvironment environment, string secret)
    {
        var error = await Assert.ThrowsAsync<OdooRoutingException>(() => harness.Routing.EnableAsync(environment, OdooRoutingHarness.NewLogin(), default));
        Assert.DoesNotContain(secret, error.ToString());
        Assert.False(await harness.QueryAsync(db => db.OdooRoutingSnapshots.AnyAsync(s => s.EnvironmentId == environment.Id)));
        return error;
    }

    [Fact]
    public async Task An_unreachable_database_is_named_and_nothing_is_concluded_about_tampering()
    {
        var port = PostgresServer.FreeLoopbackPort();
        const string password = "Unreachable-Secret-7f3a";
        var environment = await harness.CreateEnvironmentAsync($"Host=127.0.0.1;Port={port};Database=shop;Username=odoo;Password={password}", 17);

        var error = await AssertRefusedAsync(environment, password);

        Assert.Equal($"Mailtest could not reach the Odoo database \"shop\" on 127.0.0.1:{port} (connection refused); check the host and port in the environment's Odoo connection.", error.Message);
        var inspect = await Assert.ThrowsAsync<OdooRoutingException>(() => harness.Routing.InspectAsync(environment, default));
        Assert.Equal(error.Message, inspect.Message);
        var check = await harness.Routing.CheckAsync(environment, default);
        Assert.Equal(OdooTamperStatus.Unreachable, check.Status);
        Assert.DoesNotContain(password, check.Reason);
        var guard = ActivatorUtilities.CreateInstance<OdooTamperGuard>(harness.Services);
        Assert.Null(await guard.CheckAsync(environment, default));
        Assert.Equal(MailtestState.Enabled, (await harness.ReloadAsync(environment)).MailtestState);
    }

    [Fact]
    public async Task A_role_that_may_only_read_is_refused_before_anything_changes()
    {
        var odoo = await OdooTestDatabase.CreateAsync(postgres, 17, OdooScenario.SeveralRows);
        var before = await odoo.DumpAsync(postgres);
        var (role, password) = await CreateRoleAsync(odoo, "GRANT SELECT ON ir_mail_server, ir_module_module, mail_template TO {0}");
        var environment = await harness.CreateEnvironmentAsync(WithRole(odoo, role, password), 17);

        var error = await AssertRefusedAsync(environment, password);

        Assert.Equal("The Odoo database user may not change ir_mail_server; grant it SELECT, INSERT, UPDATE and DELETE on ir_mail_server and USAGE on ir_mail_server_id_seq.", error.Message);
        Assert.Equal(before, await odoo.DumpAsync(postgres));
    }

    [Fact]
    public async Task A_role_without_the_id_sequence_is_refused_too()
    {
        var odoo = await OdooTestDatabase.CreateAsync(postgres, 18, OdooScenario.SeveralRows);
        var before = await odoo.DumpAsync(postgres);
        var (role, password) = await CreateRoleAsync(odoo, "GRANT SELECT, INSERT, UPDATE, DELETE ON ir_mail_server TO {0}; GRANT SELECT ON ir_module_module, mail_template TO {0}");
        var environment = await harness.CreateEnvironmentAsync(WithRole(odoo, role, password), 18);

        var error = await AssertRefusedAsync(environment, password);

        Assert.Contains("USAGE on ir_mail_server_id_seq", error.Message);
        Assert.Equal(before, await odoo.DumpAsync(postgres));
    }

    [Fact]
    public async Task A_failure_halfway_through_rolls_the_whole_change_back()
    {
        // Approach C archives every row first; a custom trigger then refuses the marker's INSERT.
        var odoo = await OdooTestDatabase.CreateAsync(postgres, 18, OdooScenario.SeveralRows);
        await odoo.ExecuteAsync("""
            CREATE FUNCTION refuse_new_servers() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'new mail servers need approval'; END $$;
            CREATE TRIGGER approve_servers BEFORE INSERT ON ir_mail_server FOR EACH ROW EXECUTE FUNCTION refuse_new_servers();
            """);
        var before = await odoo.DumpAsync(postgres);
        var environment = await harness.CreateEnvironmentAsync(odoo.ConnectionString, 18);

        var error = await AssertRefusedAsync(environment, "sales-secret");

        Assert.Equal("The Odoo database refused the change (P0001: new mail servers need approval); nothing was changed.", error.Message);
        Assert.Equal(before, await odoo.DumpAsync(postgres));
    }

    [Fact]
    public async Task A_table_locked_by_Odoo_times_out_quickly_and_changes_nothing()
    {
        var odoo = await OdooTestDatabase.CreateAsync(postgres, 14, OdooScenario.SeveralRows);
        var before = await odoo.DumpAsync(postgres);
        var environment = await harness.CreateEnvironmentAsync(odoo.ConnectionString, 14);
        await using (var odooUser = new NpgsqlConnection(odoo.ConnectionString))
        {
            await odooUser.OpenAsync();
            await using var transaction = await odooUser.BeginTransactionAsync();
            await using (var edit = new NpgsqlCommand("UPDATE ir_mail_server SET smtp_debug = true WHERE name = 'Sales'", odooUser, transaction))
                await edit.ExecuteNonQueryAsync();

            var error = await AssertRefusedAsync(environment, "sales-secret");

            Assert.StartsWith("Odoo's mail server table is locked by another transaction", error.Message);
            await transaction.RollbackAsync();
        }
        Assert.Equal(before, await odoo.DumpAsync(postgres));
    }

    [Theory]
    [InlineData("12.0.1.0", "The Odoo database reports version 12.0.1.0; Mailtest supports Odoo 13 to 19.")]
    [InlineData("20.0.1.0", "The Odoo database reports version 20.0.1.0; Mailtest supports Odoo 13 to 19.")]
    [InlineData("master", "The Odoo database reports version master, which Mailtest cannot read; Mailtest supports Odoo 13 to 19.")]
    public async Task A_version_outside_13_to_19_is_refused_with_what_was_found(string reported, string message)
    {
        var odoo = await OdooTestDatabase.CreateAsync(postgres, 13, OdooScenario.OneActiveRow, reportedVersion: reported);
        var before = await odoo.DumpAsync(postgres);
        var environment = await harness.CreateEnvironmentAsync(odoo.ConnectionString, odooVersion: null);

        var error = await AssertRefusedAsync(environment, "prod-secret-1");

        Assert.Equal(message, error.Message);
        Assert.Equal(before, await odoo.DumpAsync(postgres));
    }

    [Fact]
    public async Task A_database_of_another_version_than_configured_is_refused()
    {
        var odoo = await OdooTestDatabase.CreateAsync(postgres, 17, OdooScenario.OneActiveRow);
        var environment = await harness.CreateEnvironmentAsync(odoo.ConnectionString, 16);

        var error = await AssertRefusedAsync(environment, "prod-secret-1");

        Assert.Equal("The Odoo database reports version 17.0.1.3, but the environment is set to Odoo 16; correct the environment's Odoo version.", error.Message);
    }

    [Fact]
    public async Task A_table_shape_Mailtest_does_not_know_is_refused()
    {
        var customised = await OdooTestDatabase.CreateAsync(postgres, 17, OdooScenario.OneActiveRow);
        await customised.ExecuteAsync("ALTER TABLE ir_mail_server ADD COLUMN x_relay_zone varchar; UPDATE ir_mail_server SET x_relay_zone = 'eu'; ALTER TABLE ir_mail_server ALTER COLUMN x_relay_zone SET NOT NULL");
        var before = await customised.DumpAsync(postgres);
        var error = await AssertRefusedAsync(await harness.CreateEnvironmentAsync(customised.ConnectionString, 17), "prod-secret-1");
        Assert.Equal("The ir_mail_server table has required column(s) x_relay_zone that Mailtest does not know (added by a custom module?); Mailtest cannot add its mail server row safely.", error.Message);
        Assert.Equal(before, await customised.DumpAsync(postgres));

        var olderShape = await OdooTestDatabase.CreateAsync(postgres, 14, OdooScenario.OneActiveRow, reportedVersion: "15.0.1.3");
        error = await AssertRefusedAsync(await harness.CreateEnvironmentAsync(olderShape.ConnectionString, 15), "prod-secret-1");
        Assert.Equal("The ir_mail_server table of this Odoo 15 database lacks the column(s) from_filter, smtp_authentication, smtp_ssl_certificate, smtp_ssl_private_key, so it does not have the shape Mailtest knows; check the environment's Odoo version.", error.Message);

        var notOdoo = await postgres.CreateDatabaseAsync("notodoo");
        error = await AssertRefusedAsync(await harness.CreateEnvironmentAsync(notOdoo, 17), "never");
        Assert.StartsWith("The database has no ir_module_module table, so it is not an Odoo database", error.Message);
    }

    [Fact]
    public async Task Rotating_before_enabling_says_to_enable_first()
    {
        var odoo = await OdooTestDatabase.CreateAsync(postgres, 16, OdooScenario.OneActiveRow);
        var environment = await harness.CreateEnvironmentAsync(odoo.ConnectionString, 16);

        var error = await Assert.ThrowsAsync<OdooRoutingException>(() => harness.Routing.RotateAsync(environment, OdooRoutingHarness.NewLogin(), default));

        Assert.Equal("Mailtest has not rerouted this Odoo database yet; enable Mailtest first.", error.Message);
    }

    [Fact]
    public async Task A_sealed_connection_opens_only_for_its_own_environment_and_never_prints_its_password()
    {
        const string password = "Sealed-Secret-91c2";
        var secret = harness.Services.GetRequiredService<OdooConnectionSecret>();
        var owner = await harness.CreateEnvironmentAsync($"Host=db.internal;Port=5433;Database=shop;Username=odoo;Password={password}", 17);
        var other = await harness.CreateEnvironmentAsync("Host=x;Database=y", 17);
        other.OdooConnectionEncrypted = owner.OdooConnectionEncrypted;

        Assert.Equal("database \"shop\" on db.internal:5433", secret.Open(owner).ToString());
        Assert.DoesNotContain(password, System.Text.Encoding.UTF8.GetString(owner.OdooConnectionEncrypted!));
        var error = Assert.Throws<OdooRoutingException>(() => secret.Open(other));
        Assert.Contains("could not be decrypted", error.Message);
    }

    private static string WithRole(OdooTestDatabase odoo, string role, string password) =>
        new NpgsqlConnectionStringBuilder(odoo.ConnectionString) { Username = role, Password = password }.ConnectionString;

    /// <summary>A login role with the given grants ({0} is the role); the test cluster trusts local logins, the password is there to be kept secret.</summary>
    private static async Task<(string Role, string Password)> CreateRoleAsync(OdooTestDatabase odoo, string grants)
    {
        var role = $"odoo_limited_{Guid.NewGuid():N}"[..24];
        var password = $"Role-Secret-{Guid.NewGuid():N}";
        await odoo.ExecuteAsync($"CREATE ROLE {role} LOGIN PASSWORD '{password}'; " + string.Format(grants, role));
        return (role, password);
    }
}
