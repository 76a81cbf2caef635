using Mailtest.Core.Data;
using Mailtest.Core.Notifications;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Quartz;

namespace Mailtest.Core.Exports;

/// <summary>
/// Writes one export (the environments its requester may read at the time it runs), then emails the
/// requester the signed link. The mail is queued, never awaited: a slow relay does not hold the job.
/// </summary>
public sealed class MessageExportJob(
    IDbContextFactory<MailtestDbContext> dbFactory,
    AccessRules access,
    MessageExportWriter writer,
    MessageExports exports,
    NotificationMailer mailer,
    IOptions<ExportOptions> options,
    TimeProvider clock,
    ILogger<MessageExportJob> logger) : IJob
{
    public const string ExportIdKey = "exportId";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        if (Guid.TryParse(context.MergedJobDataMap.GetString(ExportIdKey), out var exportId))
            await RunAsync(exportId, cancellationToken);
    }

    public async Task RunAsync(Guid exportId, CancellationToken cancellationToken)
    {
        MessageExport? export;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            export = await db.MessageExports.AsNoTracking().SingleOrDefaultAsync(e => e.Id == exportId && e.State == ExportState.Queued, cancellationToken);
        if (export is null) return;
        try
        {
            var requester = new Caller(export.RequestedByUserId, export.RequestedByEmail, IsPlatformAdmin: false);
            // Permissions as they are now: a member who lost access since asking gets nothing.
            var environments = (await access.ViewableEnvironmentsAsync(requester, cancellationToken))
                .Where(e => e.Project!.OrganizationId == export.OrganizationId && (export.EnvironmentId is null || e.Id == export.EnvironmentId))
                .ToList();
            if (environments.Count == 0)
                throw new AccessDeniedException("You may no longer read the mail of what this export includes.");
            var size = await writer.WriteAsync(export, environments, cancellationToken);
            var now = clock.GetUtcNow().UtcDateTime;
            export.State = ExportState.Ready;
            export.SizeBytes = size;
            export.CompletedUtc = now;
            export.ExpiresUtc = now + options.Value.LinkLifetime;
            await SaveAsync(export, cancellationToken);
            NotifyReady(export, environments);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Export {ExportId} failed.", exportId);
            export.State = ExportState.Failed;
            export.Error = e is AccessDeniedException ? e.Message : "The export could not be written; try again, and tell your administrator if it keeps failing.";
            export.CompletedUtc = clock.GetUtcNow().UtcDateTime;
            export.ExpiresUtc = export.CompletedUtc + options.Value.LinkLifetime;
            await SaveAsync(export, CancellationToken.None);
        }
    }

    private void NotifyReady(MessageExport export, IReadOnlyList<Tenancy.ProjectEnvironment> environments)
    {
        var link = exports.LinkOf(export);
        if (options.Value.PublicUrl is { Length: > 0 } baseUrl) link = new Uri(new Uri(baseUrl), link).ToString();
        var what = export.EnvironmentId is null
            ? $"the organization {environments[0].Project!.Organization!.Name}"
            : $"the environment {environments[0].Name}";
        mailer.Enqueue(new NotificationMail(export.RequestedByEmail, "Your Mailtest export is ready",
            $"Your export of {what} is ready: {export.ExportedMessages} messages, {export.SizeBytes:N0} bytes.\n\n" +
            $"Download it (sign in as {export.RequestedByEmail}) until {export.ExpiresUtc:MMMM d, yyyy HH:mm} UTC:\n{link}\n\n" +
            "After that the file is deleted."));
    }

    private async Task SaveAsync(MessageExport export, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.MessageExports.Update(export);
        await db.SaveChangesAsync(cancellationToken);
    }
}

/// <summary>Deletes the files of exports whose 7 days are over.</summary>
[DisallowConcurrentExecution]
public sealed class ExpiredExportSweepJob(MessageExports exports) : IJob
{
    public static readonly JobKey Key = new("export-expiry-sweep", "exports");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await exports.DeleteExpiredAsync(cancellationToken);
}

/// <summary>Runs each export as a one-off Quartz job (clustered on PostgreSQL, so one node writes it).</summary>
public sealed class QuartzExportQueue(ISchedulerFactory schedulers, TimeProvider clock) : IExportQueue
{
    public async Task EnqueueAsync(Guid exportId, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var job = JobBuilder.Create<MessageExportJob>()
            .WithIdentity($"export-{exportId:N}", "exports")
            .UsingJobData(MessageExportJob.ExportIdKey, exportId.ToString())
            .Build();
        // Now on the scheduler's own clock (StartNow() would read the system clock).
        await scheduler.ScheduleJob(job, TriggerBuilder.Create().StartAt(clock.GetUtcNow()).Build(), cancellationToken: cancellationToken);
    }
}
