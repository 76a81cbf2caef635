using Mailtest.Core.Data;
using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Quartz;

namespace Mailtest.Core.Capture;

/// <summary>Checks every enabled environment with an Odoo connection, so tampering is noticed even when no mail is sent.</summary>
[DisallowConcurrentExecution]
public sealed class OdooTamperSweepJob(
    IDbContextFactory<MailtestDbContext> databases,
    OdooTamperMonitor monitor,
    ILogger<OdooTamperSweepJob> logger) : IJob
{
    public static readonly JobKey Key = new("odoo-tamper-sweep", "odoo");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) => await SweepAsync(cancellationToken);

    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        List<ProjectEnvironment> environments;
        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
        {
            environments = await db.Environments.AsNoTracking()
                .Where(e => e.MailtestState == MailtestState.Enabled && !e.IsRotating && e.OdooConnectionEncrypted != null)
                .ToListAsync(cancellationToken);
        }
        foreach (var environment in environments)
        {
            try
            {
                await monitor.CheckAndRecordAsync(environment, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Odoo tamper sweep failed for environment {EnvironmentId}", environment.Id);
            }
        }
    }
}
