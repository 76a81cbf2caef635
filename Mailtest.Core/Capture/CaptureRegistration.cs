using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Capture;

public static class CaptureRegistration
{
    /// <summary>SMTP credentials and the bridge that answers the SMTP engine (ISmtpBackend).</summary>
    public static IHostApplicationBuilder AddCapture(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<CredentialIssuer>();
        builder.Services.AddSingleton<KillSwitch>();
        builder.Services.AddSingleton(TimeProvider.System);
        return builder;
    }
}
