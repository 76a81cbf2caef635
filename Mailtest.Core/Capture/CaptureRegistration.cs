using Mailtest.Smtp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Capture;

public static class CaptureRegistration
{
    /// <summary>SMTP credentials and the bridge that answers the SMTP engine (ISmtpBackend).</summary>
    public static IHostApplicationBuilder AddCapture(this IHostApplicationBuilder builder)
    {
        builder.Services.AddCapture();
        return builder;
    }

    /// <summary>The same services on a bare collection (tests, tools); needs the data, tenancy and message store services.</summary>
    public static IServiceCollection AddCapture(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        PublicSmtpOptions.Register(services); // the inbox's first-run card shows it
        services.AddSingleton<SmtpCredentialCache>();
        services.AddSingleton<CredentialIssuer>();
        services.AddSingleton<KillSwitch>();
        services.AddSingleton<SmtpFaultInjection>();
        services.AddScoped<ISmtpBackend, SmtpCaptureBackend>();
        return services;
    }
}
