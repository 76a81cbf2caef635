using Microsoft.Extensions.Hosting;

namespace Mailtest.Smtp;

public static class SmtpRegistration
{
    /// <summary>The SMTP listener(s) on Kestrel, registered through IConfigureOptions&lt;KestrelServerOptions&gt;.</summary>
    public static IHostApplicationBuilder AddSmtpCapture(this IHostApplicationBuilder builder)
    {
        return builder;
    }
}
