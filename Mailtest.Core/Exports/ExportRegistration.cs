using Mailtest.Core.Notifications;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Quartz;

namespace Mailtest.Core.Exports;

public static class ExportRegistration
{
    /// <summary>"Download all as .zip" (a Quartz job per export, an hourly sweep of expired files) and Mailtest's own outgoing email.</summary>
    public static IHostApplicationBuilder AddExports(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ExportOptions>().BindConfiguration(ExportOptions.Section)
            .Validate(o => o.LinkLifetime > TimeSpan.Zero, "Mailtest:Exports:LinkLifetime must be positive.")
            .Validate(o => o.PublicUrl is null or "" || Uri.TryCreate(o.PublicUrl, UriKind.Absolute, out _), "Mailtest:Exports:PublicUrl must be an absolute URL.")
            .ValidateOnStart();
        builder.Services.AddOptions<NotificationOptions>().BindConfiguration(NotificationOptions.Section)
            .Validate(o => !o.IsConfigured || MimeKit.MailboxAddress.TryParse(o.From, out _), "Mailtest:Notifications:From must be an email address.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<NotificationMailer>();
        builder.Services.AddSingleton<ExportFiles>();
        builder.Services.AddSingleton<ExportLinkSigner>();
        builder.Services.AddSingleton<MessageExportWriter>();
        builder.Services.AddSingleton<MessageExports>();
        builder.Services.AddSingleton<IExportQueue, QuartzExportQueue>();
        builder.Services.AddQuartz(q =>
        {
            q.AddJob<ExpiredExportSweepJob>(j => j.WithIdentity(ExpiredExportSweepJob.Key));
            q.AddTrigger(t => t.ForJob(ExpiredExportSweepJob.Key)
                .WithIdentity("export-expiry-sweep", "exports")
                .StartAt(DateTimeOffset.UtcNow + TimeSpan.FromMinutes(5))
                .WithSimpleSchedule(s => s.WithInterval(TimeSpan.FromHours(1)).RepeatForever()));
        });
        return builder;
    }
}
