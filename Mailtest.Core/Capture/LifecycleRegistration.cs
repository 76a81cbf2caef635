using Mailtest.Smtp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Capture;

public static class LifecycleRegistration
{
    /// <summary>The Mailtest lifecycle on each environment: enable, rotate, disable, kill switch.</summary>
    public static IHostApplicationBuilder AddMailtestLifecycle(this IHostApplicationBuilder builder)
    {
        // Host and port shown in the credential reveal (AddSmtpCapture binds the same section; binding twice is harmless).
        builder.Services.AddOptions<SmtpOptions>().BindConfiguration(SmtpOptions.Section);
        builder.Services.AddSingleton<MailtestLifecycle>();
        return builder;
    }
}
