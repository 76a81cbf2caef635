using Mailtest.Core.Capture;
using Mailtest.Smtp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Quartz;

namespace Mailtest.Core.Odoo;

public static class OdooRegistration
{
    /// <summary>Odoo ir_mail_server rerouting (approaches C and D), the AUTH-time tamper guard and the tamper sweep.</summary>
    public static IHostApplicationBuilder AddOdooIntegration(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OdooOptions>().BindConfiguration(OdooOptions.Section);
        PublicSmtpOptions.Register(builder.Services); // the marker row points at the public SMTP endpoint
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<OdooConnectionSecret>();
        builder.Services.AddSingleton<OdooConnectionSettings>();
        builder.Services.AddSingleton<IOdooMailRouting, OdooMailRouting>();
        builder.Services.AddSingleton<OdooTamperMonitor>();
        builder.Services.AddSingleton<ISmtpLoginGuard, OdooTamperGuard>();

        var interval = builder.Configuration.GetSection(OdooOptions.Section).Get<OdooOptions>()?.TamperSweepInterval
                       ?? new OdooOptions().TamperSweepInterval;
        builder.Services.AddQuartz(q =>
        {
            q.AddJob<OdooTamperSweepJob>(j => j.WithIdentity(OdooTamperSweepJob.Key));
            q.AddTrigger(t => t.ForJob(OdooTamperSweepJob.Key)
                .WithIdentity("odoo-tamper-sweep", "odoo")
                .StartAt(DateTimeOffset.UtcNow + interval) // not at boot: startup stays quick
                .WithSimpleSchedule(s => s.WithInterval(interval).RepeatForever()));
        });
        return builder;
    }
}
