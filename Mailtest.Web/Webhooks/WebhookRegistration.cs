using Mailtest.Core.Webhooks;

namespace Mailtest.Web.Webhooks;

/// <summary>Webhooks per environment: settings in Core, signed delivery with retries here.</summary>
public static class WebhookRegistration
{
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section)
            .Validate(o => o.Timeout > TimeSpan.Zero && o.FirstRetryAfter > TimeSpan.Zero && o.MaxRetryInterval >= o.FirstRetryAfter
                           && o.RetryFor >= TimeSpan.Zero && o.Concurrency > 0 && o.QueueCapacity > 0 && o.SweepEvery > TimeSpan.Zero,
                "Mailtest:Webhooks: Timeout, FirstRetryAfter, Concurrency, QueueCapacity and SweepEvery must be positive, MaxRetryInterval at least FirstRetryAfter.")
            .Validate(o => Uri.TryCreate(o.PublicUrl, UriKind.Absolute, out _), "Mailtest:Webhooks:PublicUrl must be an absolute URL.")
            .ValidateOnStart();
        builder.Services.AddSingleton<WebhookSettings>();
        builder.Services.AddSingleton<WebhookDeliveryLog>();
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddSingleton<WebhookDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        return builder;
    }
}
