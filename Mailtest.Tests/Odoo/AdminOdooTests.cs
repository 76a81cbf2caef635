using System.Text;
using System.Text.Json;
using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Data;
using Mailtest.Tests.Infrastructure;
using Mailtest.Web.Admin;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Tests.Odoo;

/// <summary>
/// The admin command line on an environment with a real Odoo database: its connection is stored as
/// the environment page stores it (audited), and issuing credentials goes through the lifecycle, so
/// Odoo is rerouted and snapshotted exactly as when Mailtest is enabled from the UI.
/// </summary>
[TestCategory(Needs.Postgres)]
public sealed class AdminOdooTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-admin-odoo-{Guid.NewGuid():N}");

    [Fact]
    public async Task Credentials_issued_on_the_command_line_reroute_Odoo_with_a_snapshot_and_issuing_again_rotates_it()
    {
        var odoo = await OdooTestDatabase.CreateAsync(postgres, 17, OdooScenario.SeveralRows);
        var org = await AdminAsync("org", "create", "Acme", "--plan", "Pro", "--json");
        var project = await AdminAsync("project", "create", Id(org), "ERP", "--json");
        var environment = await AdminAsync("env", "create", Id(project), "Staging", "--kind", "staging", "--odoo-version", "17", "--odoo-db", odoo.ConnectionString, "--json");
        var environmentId = Guid.Parse(Id(environment));

        var issued = await AdminAsync("credentials", "issue", environmentId.ToString(), "--json");
        var (username, password) = (issued.GetProperty("username").GetString()!, issued.GetProperty("password").GetString()!);
        var chosen = OdooServerChoice.Choose(17, await odoo.ReadServersAsync(), "shop@acme.example");
        Assert.Equal((username, password), (chosen.User, chosen.Password));

        var reissued = await AdminAsync("credentials", "issue", environmentId.ToString(), "--json");
        var newPassword = reissued.GetProperty("password").GetString()!;
        Assert.NotEqual(password, newPassword);
        Assert.Equal(newPassword, OdooServerChoice.Choose(17, await odoo.ReadServersAsync(), "shop@acme.example").Password);

        await using var core = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: _dataDirectory);
        await using var db = await core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        var stored = await db.Environments.AsNoTracking().SingleAsync(e => e.Id == environmentId);
        Assert.Equal((MailtestState.Enabled, false), (stored.MailtestState, stored.IsRotating));
        // The snapshot a later disable restores from.
        Assert.True(await db.OdooRoutingSnapshots.AnyAsync(s => s.EnvironmentId == environmentId));
        var audit = await db.AuditEntries.AsNoTracking().Where(a => a.EnvironmentId == environmentId).OrderBy(a => a.Id)
            .Select(a => new { a.Action, a.Actor, a.Detail }).ToListAsync();
        Assert.Equal([AuditActions.OdooConnectionChange, AuditActions.MailtestEnable, AuditActions.MailtestRotate], audit.Select(a => a.Action));
        Assert.All(audit, a => Assert.Equal(AdminVerbs.Actor, a.Actor));
        Assert.Equal("Odoo 17", audit[0].Detail);
    }

    private static string Id(JsonElement json) => json.GetProperty("id").GetGuid().ToString();

    private async Task<JsonElement> AdminAsync(params string[] args)
    {
        using var stdout = new MemoryStream();
        using var stderr = new StringWriter();
        var exitCode = await AdminCommandLine.RunAsync(["admin", .. args, "--data-dir", _dataDirectory], stdout, stderr);
        Assert.True(exitCode == 0, $"exit {exitCode}: {stderr}");
        return JsonDocument.Parse(Encoding.UTF8.GetString(stdout.ToArray())).RootElement.Clone();
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
