using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Messages;

public static class MessageStoreRegistration
{
    /// <summary>The message store: batching ingest writer, sealed raw messages, full-text search.</summary>
    public static IHostApplicationBuilder AddMessageStore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<MessageEvents>();
        return builder;
    }
}
