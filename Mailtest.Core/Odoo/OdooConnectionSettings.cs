using Mailtest.Core.Audit;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Odoo;

/// <summary>
/// Sets or clears an environment's Odoo connection (version and sealed connection string), for the
/// environment page and the API. Needs <c>project.mailtest.manage</c>. Refused while Mailtest is on:
/// the restore on disable needs the very database that was rerouted.
/// </summary>
public sealed class OdooConnectionSettings(
    AccessRules access, IDbContextFactory<MailtestDbContext> dbFactory, OdooConnectionSecret secret, AuditLog audit)
{
    public const int OldestVersion = 13;
    public const int NewestVersion = 19;

    public async Task SetAsync(Caller caller, Guid environmentId, int version, string connectionString, CancellationToken cancellationToken = default)
    {
        if (version is < OldestVersion or > NewestVersion)
            throw new TenancyException($"Mailtest supports Odoo {OldestVersion} to {NewestVersion}; choose one of those versions.");
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new TenancyException("Enter the Odoo database connection (Host=...;Database=...;Username=...;Password=...).");
        await ChangeAsync(caller, environmentId, cancellationToken, environment =>
        {
            try { environment.OdooConnectionEncrypted = secret.Seal(environment.Id, connectionString.Trim()); }
            catch (ArgumentException e) { throw new TenancyException(e.Message); }
            environment.OdooVersion = version;
            return $"Odoo {version}";
        });
    }

    public Task ClearAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default) =>
        ChangeAsync(caller, environmentId, cancellationToken, environment =>
        {
            environment.OdooConnectionEncrypted = null;
            environment.OdooVersion = null;
            return "cleared";
        });

    private async Task ChangeAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken, Func<ProjectEnvironment, string> change)
    {
        var visible = await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestManage, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var environment = await db.Environments.SingleAsync(e => e.Id == environmentId, cancellationToken);
        if (environment.MailtestState != MailtestState.Disabled)
            throw new MailtestConflictException("Disable Mailtest on this environment before changing its Odoo connection: disabling restores the Odoo database it rerouted.");
        var detail = change(environment);
        await db.SaveChangesAsync(cancellationToken);
        // The detail names the version only: the connection string never reaches the log.
        await audit.RecordAsync(caller, AuditActions.OdooConnectionChange, visible.Project!.OrganizationId, environmentId, detail, cancellationToken);
    }
}
