using Mailtest.Core.Messages;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Quartz;

namespace Mailtest.Core.Retention;

public static class RetentionRegistration
{
    /// <summary>Plan limits over time (grace), plan changes, bulk deletion, the hourly purge and the purge a full cap triggers.</summary>
    public static IHostApplicationBuilder AddRetention(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRetention();
        var interval = builder.Configuration.GetSection(RetentionOptions.Section).Get<RetentionOptions>()?.PurgeInterval
                       ?? new RetentionOptions().PurgeInterval;
        builder.Services.AddQuartz(q =>
        {
            q.AddJob<RetentionPurgeJob>(j => j.WithIdentity(RetentionPurgeJob.Key));
            q.AddTrigger(t => t.ForJob(RetentionPurgeJob.Key)
                .WithIdentity("retention-purge", "retention")
                .StartAt(DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1)) // not at boot: startup stays quick
                .WithSimpleSchedule(s => s.WithInterval(interval).RepeatForever()));
        });
        return builder;
    }

    /// <summary>The same services without the schedule (tests, tools); needs the data, tenancy, audit, capture and message store services.</summary>
    public static IServiceCollection AddRetention(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section)
            .Validate(o => o.CapHeadroomPercent is > 0 and <= 100, "Mailtest:Retention:CapHeadroomPercent must be between 1 and 100.")
            .Validate(o => o.BatchSize is > 0 and <= 5000, "Mailtest:Retention:BatchSize must be between 1 and 5000.")
            .Validate(o => o.GraceDays >= 0, "Mailtest:Retention:GraceDays must not be negative.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<PlanGrace>();
        services.TryAddSingleton<MessageDeletion>();
        services.TryAddSingleton<DatabaseSpace>();
        services.TryAddSingleton<RetentionPurge>();
        services.TryAddSingleton<CapPurgeTrigger>();
        services.TryAddSingleton<PlanChanges>();
        services.TryAddSingleton<PlanUsage>();
        return services;
    }
}
