using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Capture;

/// <summary>
/// Runs the tamper check for one environment and records what it found: tampering puts the
/// environment in <see cref="MailtestState.TamperDetected"/> (AUTH is refused until re-enable);
/// a repaired neutralize is written to the audit log. Used at AUTH time and by the sweep.
/// </summary>
public sealed class OdooTamperMonitor(
    IOdooMailRouting routing,
    IDbContextFactory<MailtestDbContext> databases,
    ILogger<OdooTamperMonitor> logger,
    SmtpCredentialCache? credentialCache = null)
{
    public async Task<OdooTamperCheck> CheckAndRecordAsync(ProjectEnvironment environment, CancellationToken cancellationToken)
    {
        var check = await routing.CheckAsync(environment, cancellationToken);
        switch (check.Status)
        {
            case OdooTamperStatus.Tampered:
                await MarkTamperedAsync(environment, check.Reason ?? "Odoo's mail server settings changed.", cancellationToken);
                break;
            case OdooTamperStatus.RepairedAfterNeutralize:
                await using (var db = await databases.CreateDbContextAsync(cancellationToken))
                {
                    await AddAuditAsync(db, environment.Id, AuditActions.OdooNeutralizeRepaired, check.Reason, cancellationToken);
                    await db.SaveChangesAsync(cancellationToken);
                }
                logger.LogInformation("Odoo neutralize repaired for environment {EnvironmentId}", environment.Id);
                break;
            case OdooTamperStatus.Unreachable:
                logger.LogWarning("Odoo tamper check for environment {EnvironmentId} concluded nothing: {Reason}", environment.Id, check.Reason);
                break;
        }
        return check;
    }

    private async Task MarkTamperedAsync(ProjectEnvironment environment, string reason, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var stored = await db.Environments.SingleOrDefaultAsync(e => e.Id == environment.Id, cancellationToken);
        // Only an environment still enabled (not mid-rotation, not disabled meanwhile) changes state.
        if (stored is null || stored.MailtestState != MailtestState.Enabled || stored.IsRotating) return;
        stored.MailtestState = MailtestState.TamperDetected;
        stored.TamperReason = reason;
        await AddAuditAsync(db, environment.Id, AuditActions.OdooTamperDetected, reason, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        environment.MailtestState = MailtestState.TamperDetected;
        environment.TamperReason = reason;
        credentialCache?.Invalidate(environment.Id); // AUTH sees the new state at once, not after the cache expires
        logger.LogWarning("Odoo tampering detected for environment {EnvironmentId}: {Reason}", environment.Id, reason);
    }

    /// <summary>Adds the audit entry to the same transaction as the state change, so neither is saved without the other.</summary>
    private static async Task AddAuditAsync(MailtestDbContext db, Guid environmentId, string action, string? detail, CancellationToken cancellationToken)
    {
        var organizationId = await db.Environments.Where(e => e.Id == environmentId)
            .Select(e => (Guid?)e.Project!.OrganizationId).FirstOrDefaultAsync(cancellationToken);
        db.AuditEntries.Add(new AuditEntry
        {
            Actor = "system", Action = action, OrganizationId = organizationId, EnvironmentId = environmentId, Detail = detail,
        });
    }
}
