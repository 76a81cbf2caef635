using Mailtest.Web.Accounts;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Mailtest.Web.Inbox;

/// <summary>The inbox: preview documents, attachment downloads, the image proxy.</summary>
public static class InboxRegistration
{
    public static WebApplicationBuilder AddInbox(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<InboxOptions>().BindConfiguration(InboxOptions.Section)
            .Validate(o => o.ImageProxyMaxBytes > 0 && o.ImageProxyTimeout > TimeSpan.Zero, "Mailtest:Inbox:ImageProxyMaxBytes and ImageProxyTimeout must be positive.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RemoteImageFetcher>();
        // The signed-in caller in components; the accounts area may register it first.
        builder.Services.TryAddScoped<CurrentCaller>();
        builder.Services.AddScoped<InboxReader>();
        return builder;
    }

    public static WebApplication MapInbox(this WebApplication app)
    {
        InboxEndpoints.Map(app);
        return app;
    }
}
