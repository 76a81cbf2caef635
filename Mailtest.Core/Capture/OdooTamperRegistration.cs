using Mailtest.Core.Odoo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Quartz;

namespace Mailtest.Core.Capture;

public static class OdooTamperRegistration
{
    /// <summary>
    /// Tampering with a rerouted Odoo puts the environment in Tamper detected: checked at AUTH (the
    /// guard) and by a periodic sweep. Needs <c>AddOdooIntegration</c>.
    /// </summary>
    public static IHostApplicationBuilder AddOdooTamperDetection(this IHostApplicationBuilder builder)
    {
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
