using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Messages.Mailbox;

public static class MailboxRegistration
{
    /// <summary>An environment's mail for test code: reading, changing and adding messages.</summary>
    public static IHostApplicationBuilder AddMailbox(this IHostApplicationBuilder builder)
    {
        builder.Services.AddMailbox();
        return builder;
    }

    /// <summary>The same services on a bare collection (tests, tools); needs the message store and tenancy.</summary>
    public static IServiceCollection AddMailbox(this IServiceCollection services)
    {
        services.AddSingleton<EnvironmentMailbox>();
        services.AddSingleton<MessageInjection>();
        services.AddSingleton<MessageWaiter>();
        services.AddSingleton<MailboxEvents>();
        return services;
    }
}
