using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Messages;

public static class MessageStoreRegistration
{
    /// <summary>The message store: batching ingest writer, sealed raw messages, full-text search.</summary>
    public static IHostApplicationBuilder AddMessageStore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddMessageStore();
        return builder;
    }

    /// <summary>The same services on a bare collection (tests, tools); needs the data services.</summary>
    public static IServiceCollection AddMessageStore(this IServiceCollection services)
    {
        services.AddSingleton<MessageEvents>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<OrganizationUsage>();
        services.AddSingleton<RawMessageSeal>();
        services.AddSingleton<IngestWriter>();
        services.AddSingleton<MessageIngest>();
        services.AddSingleton<IMessageStore, MessageStore>();
        return services;
    }
}
