using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Odoo;

public static class OdooRegistration
{
    /// <summary>Odoo ir_mail_server rerouting (approaches C and D) and the environments' Odoo connections.
    /// Noticing tampering is the lifecycle's: <c>AddOdooTamperDetection</c>.</summary>
    public static IHostApplicationBuilder AddOdooIntegration(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OdooOptions>().BindConfiguration(OdooOptions.Section);
        PublicSmtpOptions.Register(builder.Services); // the marker row points at the public SMTP endpoint
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<OdooConnectionSecret>();
        builder.Services.AddSingleton<OdooConnectionSettings>();
        builder.Services.AddSingleton<IOdooMailRouting, OdooMailRouting>();
        return builder;
    }
}
