using Mailtest.Core.Audit;
using System.Net;
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
        Check(version, connectionString);
        await ChangeAsync(caller, environmentId, cancellationToken, environment =>
        {
            environment.OdooConnectionEncrypted = Seal(environment.Id, connectionString);
            environment.OdooVersion = version;
            return $"Odoo {version}";
        });
    }

    /// <summary>Refuses a version Mailtest cannot reroute or a connection string Npgsql cannot read, before anything changes.</summary>
    /// <exception cref="TenancyException">The sentence to show.</exception>
    public void Check(int version, string connectionString)
    {
        if (version is < OldestVersion or > NewestVersion)
            throw new TenancyException($"Mailtest supports Odoo {OldestVersion} to {NewestVersion}; choose one of those versions.");
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new TenancyException("Enter the Odoo database connection (Host=...;Database=...;Username=...;Password=...).");
        _ = Seal(Guid.Empty, connectionString);
    }

    private byte[] Seal(Guid environmentId, string connectionString)
    {
        try { return secret.Seal(environmentId, connectionString.Trim()); }
        catch (ArgumentException e) { throw new TenancyException(e.Message); }
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
            throw new RefusalException(HttpStatusCode.Conflict, "Disable Mailtest on this environment before changing its Odoo connection: disabling restores the Odoo database it rerouted.");
        var detail = change(environment);
        await db.SaveChangesAsync(cancellationToken);
        // The detail names the version only: the connection string never reaches the log.
        await audit.RecordAsync(caller, AuditActions.OdooConnectionChange, visible.Project!.OrganizationId, environmentId, detail, cancellationToken);
    }
}
