using Mailtest.Core.Data;
using Mailtest.Core.Messages.Preview;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Core.Messages;

public static class MessageStoreRegistration
{
    /// <summary>The message store: batching ingest writer, sealed raw messages, full-text search, previews.</summary>
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
        services.AddSingleton(sp =>
        {
            var data = sp.GetRequiredService<IOptions<DataOptions>>().Value;
            IMessageBatchWriter tables = data.Provider == DatabaseProvider.Postgres
                ? new PostgresMessageBatchWriter(data.EffectiveConnectionString)
                : new SqliteMessageBatchWriter(data.EffectiveConnectionString);
            return new IngestWriter(tables, sp.GetRequiredService<MessageEvents>(), sp.GetRequiredService<OrganizationUsage>(),
                sp.GetRequiredService<ILogger<IngestWriter>>());
        });
        services.AddHostedService<IngestWriterStartup>();
        services.AddSingleton<MessageIngest>();
        services.AddSingleton<IMessageStore, MessageStore>();
        // Previews: one parse per opened message, links signed for the sandboxed frame.
        services.TryAddSingleton<PreviewLinkSigner>();
        services.TryAddSingleton<MessagePreviewRenderer>();
        services.TryAddSingleton<MessagePreviews>();
        return services;
    }
}

/// <summary>Starts the ingest writer with the app, so text committed before a crash is indexed without waiting for new mail.</summary>
internal sealed class IngestWriterStartup(IngestWriter writer) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        writer.OpenIndexAndStart();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
