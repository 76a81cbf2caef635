using Quartz;

namespace Mailtest.Core.Retention;

/// <summary>The hourly purge of every organization (retention window and caps).</summary>
[DisallowConcurrentExecution]
public sealed class RetentionPurgeJob(RetentionPurge purge) : IJob
{
    public static readonly JobKey Key = new("retention-purge", "retention");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await purge.RunAsync(null, RetentionPurge.SystemActor, cancellationToken);
}
