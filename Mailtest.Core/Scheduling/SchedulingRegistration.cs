using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Quartz;

namespace Mailtest.Core.Scheduling;

public static class SchedulingRegistration
{
    /// <summary>The Quartz scheduler. Areas add their jobs with their own <c>services.AddQuartz(q => ...)</c>.</summary>
    public static IHostApplicationBuilder AddMailtestScheduler(this IHostApplicationBuilder builder)
    {
        builder.Services.AddQuartz();
        builder.Services.AddQuartzHostedService(options => options.WaitForJobsToComplete = true);
        return builder;
    }
}
