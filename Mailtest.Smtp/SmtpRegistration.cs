using System.Net;
using Mailtest.Smtp.Protection;
using Mailtest.Smtp.Session;
using Mailtest.Smtp.Spool;
using Mailtest.Smtp.Tls;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Mailtest.Smtp;

public static class SmtpRegistration
{
    /// <summary>
    /// The SMTP listener(s) on Kestrel, registered through IConfigureOptions&lt;KestrelServerOptions&gt;.
    /// The product supplies <see cref="ISmtpBackend"/> as a scoped service.
    /// </summary>
    public static IHostApplicationBuilder AddSmtpCapture(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSmtpEngine();
        builder.Services.AddSingleton<SmtpListeners>();
        builder.Services.AddSingleton<IConfigureOptions<KestrelServerOptions>, SmtpKestrelSetup>();
        return builder;
    }

    /// <summary>Everything but the listeners: options, the connection handler and what sessions share.</summary>
    internal static IServiceCollection AddSmtpEngine(this IServiceCollection services)
    {
        services.AddOptions<SmtpOptions>()
            .BindConfiguration(SmtpOptions.Section)
            .Validate(SmtpOptions.IsValid, SmtpOptions.ValidationMessage)
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SmtpDataDirectory>();
        services.TryAddSingleton<SmtpCertificateSource>();
        services.TryAddSingleton<MessageSpool>();
        services.TryAddSingleton<AuthFailureBan>();
        services.TryAddSingleton<ConnectionLimits>();
        services.TryAddSingleton<SmtpSessionServices>();
        services.TryAddSingleton<SmtpConnectionHandler>();
        return services;
    }

    private sealed class SmtpKestrelSetup(IOptions<SmtpOptions> options, SmtpListeners listeners) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel)
        {
            var smtp = options.Value;
            var address = IPAddress.Parse(smtp.Address);
            kestrel.Listen(address, smtp.Port, listen =>
            {
                listeners.StartTlsListen = listen;
                listen.UseConnectionHandler<SmtpConnectionHandler>();
            });
            if (smtp.ImplicitTlsPort is { } implicitPort)
            {
                kestrel.Listen(address, implicitPort, listen =>
                {
                    listeners.ImplicitTlsListen = listen;
                    listen.Use(next => connection =>
                    {
                        connection.Items[SmtpConnectionHandler.ImplicitTlsItem] = true;
                        return next(connection);
                    });
                    listen.UseConnectionHandler<SmtpConnectionHandler>();
                });
            }
        }
    }
}
