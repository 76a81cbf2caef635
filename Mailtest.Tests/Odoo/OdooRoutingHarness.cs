using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailtest.Tests.Odoo;

/// <summary>
/// Mailtest's own services as the host registers them (data + Odoo integration), on a SQLite
/// database in a temp directory; one per test class, each test with environments of its own.
/// </summary>
public sealed class OdooRoutingHarness : IAsyncLifetime
{
    public const string PublicHost = "mailtest.test";
    public const int PublicPort = 2587;

    private IHost? _host;
    private string? _directory;

    public IServiceProvider Services => _host!.Services;
    public IOdooMailRouting Routing => Services.GetRequiredService<IOdooMailRouting>();

    public async ValueTask InitializeAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), $"mailtest-odoo-{Guid.NewGuid():N}");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mailtest:Data:Directory"] = _directory,
            ["Mailtest:Smtp:PublicHost"] = PublicHost,
            ["Mailtest:Smtp:PublicPort"] = PublicPort.ToString(),
            ["Mailtest:Odoo:LockTimeout"] = "00:00:01",
            ["Mailtest:Odoo:ConnectTimeout"] = "00:00:03",
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddMailtestData();
        builder.AddOdooIntegration();
        builder.AddOdooTamperDetection();
        _host = builder.Build();
        await Services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
    }

    /// <summary>An enabled-looking environment whose Odoo connection is sealed the way the product stores it.</summary>
    public async Task<ProjectEnvironment> CreateEnvironmentAsync(string odooConnectionString, int? odooVersion,
        MailtestState state = MailtestState.Enabled)
    {
        await using var db = await Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        var organization = new Organization { Name = "Acme", Slug = Slug() };
        var project = new Project { OrganizationId = organization.Id, Name = "Shop" };
        var environment = new ProjectEnvironment { ProjectId = project.Id, Name = "staging", Slug = Slug(), Kind = EnvironmentKind.Staging, OdooVersion = odooVersion, MailtestState = state };
        environment.OdooConnectionEncrypted = Services.GetRequiredService<OdooConnectionSecret>().Seal(environment.Id, odooConnectionString);
        db.AddRange(organization, project, environment);
        await db.SaveChangesAsync();
        return environment;
    }

    public async Task<ProjectEnvironment> ReloadAsync(ProjectEnvironment environment)
    {
        await using var db = await Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        return await db.Environments.AsNoTracking().SingleAsync(e => e.Id == environment.Id);
    }

    public async Task<T> QueryAsync<T>(Func<MailtestDbContext, Task<T>> query)
    {
        await using var db = await Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        return await query(db);
    }

    public static OdooSmtpLogin NewLogin() =>
        new($"org-{Slug()}-env-{Slug()}", Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)));

    private static string Slug() => Guid.NewGuid().ToString("N")[..6];

    public async ValueTask DisposeAsync()
    {
        _host?.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { if (_directory is not null) Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        await Task.CompletedTask;
    }
}
