using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Odoo;

public static class OdooRegistration
{
    /// <summary>Odoo ir_mail_server rerouting (approaches C and D) and the tamper sweep.</summary>
    public static IHostApplicationBuilder AddOdooIntegration(this IHostApplicationBuilder builder)
    {
        return builder;
    }
}
