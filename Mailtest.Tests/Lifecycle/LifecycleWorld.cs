using Mailtest.Core.Audit;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Retention;
using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Tests.Lifecycle;

/// <summary>
/// Core's services over a real PostgreSQL database (one per test class), with a fake Odoo. Each
/// test makes its own organization, so tests share the database without seeing each other.
/// </summary>
public sealed class LifecycleWorld : IAsyncLifetime
{
    private readonly PostgresServer _postgres;
    private IHost _host = null!;
    private string _dataDirectory = null!;

    public LifecycleWorld(PostgresServer postgres) => _postgres = postgres;

    public IServiceProvider Services => _host.Services;
    public FakeOdooMailRouting Odoo { get; } = new();
    public MailtestLifecycle Lifecycle => Services.GetRequiredService<MailtestLifecycle>();
    public TenancyAdministration Administration => Services.GetRequiredService<TenancyAdministration>();

    public async ValueTask InitializeAsync()
    {
        _dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-lifecycle-{Guid.NewGuid():N}");
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mailtest:Data:Provider"] = "Postgres",
            ["Mailtest:Data:ConnectionString"] = await _postgres.CreateDatabaseAsync("lifecycle"),
            ["Mailtest:Data:Directory"] = _dataDirectory,
            ["Mailtest:Smtp:PublicHost"] = "mail.example.test",
            ["Mailtest:Smtp:Port"] = "2525",
            ["Mailtest:Smtp:PublicPort"] = "587",
        });
        builder.AddMailtestData();
        builder.AddAudit();
        builder.AddTenancy();
        builder.AddMessageStore();
        builder.AddCapture();
        builder.Services.AddRetention();
        builder.AddMailtestLifecycle();
        builder.Services.AddSingleton<IOdooMailRouting>(Odoo);
        _host = builder.Build();
        await _host.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _host.Dispose();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { }
        await Task.CompletedTask;
    }

    /// <summary>An organization with an owner, a project and an environment, as a caller would find them.</summary>
    public async Task<Scene> SceneAsync(Plan plan = Plan.Starter, EnvironmentKind kind = EnvironmentKind.Staging, int? odooVersion = null)
    {
        var organization = await Administration.CreateOrganizationAsync($"Org {Guid.NewGuid():N}"[..12], plan);
        var owner = await UserAsync();
        await Administration.AddMemberAsync(organization.Id, owner.Email, OrganizationRole.Owner);
        var project = await Administration.CreateProjectAsync(organization.Id, "Shop");
        var environment = await Administration.CreateEnvironmentAsync(project.Id, "staging", kind);
        if (odooVersion is { } version)
            await UpdateAsync(environment.Id, e => { e.OdooVersion = version; e.OdooConnectionEncrypted = [1, 2, 3]; });
        return new Scene(organization, project, environment.Id, new Caller(owner.Id, owner.Email, false, "192.0.2.10"));
    }

    public async Task<Caller> MemberAsync(Guid organizationId, OrganizationRole role, params (Guid ProjectId, ProjectPermission Permission)[] grants)
    {
        var user = await UserAsync();
        await Administration.AddMemberAsync(organizationId, user.Email, role);
        await using var db = await DbAsync();
        foreach (var (projectId, permission) in grants)
            db.ProjectGrants.Add(new ProjectGrant { ProjectId = projectId, UserId = user.Id, Permission = permission });
        await db.SaveChangesAsync();
        return new Caller(user.Id, user.Email, false, "192.0.2.20");
    }

    public async Task<UserAccount> UserAsync(bool isPlatformAdmin = false) =>
        await Administration.CreateUserAsync($"u-{Guid.NewGuid():N}@example.test", "long enough password", isPlatformAdmin);

    public Task<MailtestDbContext> DbAsync() => Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();

    public async Task<ProjectEnvironment> EnvironmentAsync(Guid id)
    {
        await using var db = await DbAsync();
        return await db.Environments.AsNoTracking().SingleAsync(e => e.Id == id);
    }

    public async Task UpdateAsync(Guid environmentId, Action<ProjectEnvironment> change)
    {
        await using var db = await DbAsync();
        change(await db.Environments.SingleAsync(e => e.Id == environmentId));
        await db.SaveChangesAsync();
    }

    /// <summary>Would SMTP AUTH accept this login now (a matching, unrevoked credential)?</summary>
    public async Task<bool> LoginIsValidAsync(string username, string password)
    {
        await using var db = await DbAsync();
        var issuer = Services.GetRequiredService<CredentialIssuer>();
        var active = await db.SmtpCredentials.AsNoTracking().Where(c => c.Username == username && c.RevokedUtc == null).ToListAsync();
        return active.Any(c => issuer.Matches(password, c.PasswordHash));
    }

    public async Task<IReadOnlyList<AuditEntry>> AuditAsync(Guid environmentId)
    {
        await using var db = await DbAsync();
        return await db.AuditEntries.AsNoTracking().Where(a => a.EnvironmentId == environmentId).OrderBy(a => a.Id).ToListAsync();
    }
}

public sealed record Scene(Organization Organization, Project Project, Guid EnvironmentId, Caller Owner);
