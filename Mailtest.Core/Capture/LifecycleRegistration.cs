using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Capture;

public static class LifecycleRegistration
{
    /// <summary>The Mailtest lifecycle on each environment: enable, rotate, disable, kill switch.</summary>
    public static IHostApplicationBuilder AddMailtestLifecycle(this IHostApplicationBuilder builder)
    {
        PublicSmtpOptions.Register(builder.Services); // host and port shown in the credential reveal
        builder.Services.AddSingleton<MailtestLifecycle>();
        return builder;
    }
}
