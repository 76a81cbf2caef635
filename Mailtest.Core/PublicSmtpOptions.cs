using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mailtest.Core;

/// <summary>
/// The SMTP endpoint people and Odoo are told to use: the credential reveal, the inbox's first-run
/// card and the mail server row written into Odoo. A product setting, so Core owns it; the engine's
/// <c>SmtpOptions</c> (what the listener binds to) stays the engine's. Read from <c>Mailtest:Smtp</c>,
/// the section an installer already edits: <c>PublicHost</c>, <c>PublicPort</c>, and <c>Port</c>
/// (the listener's port, told when no public port is set).
/// </summary>
public sealed class PublicSmtpOptions
{
    public const string Section = "Mailtest:Smtp";

    public string PublicHost { get; set; } = "localhost";
    public int? PublicPort { get; set; }
    public int Port { get; set; } = 2525;

    public string Host => PublicHost;
    /// <summary>The port clients are told to use.</summary>
    public int EffectivePort => PublicPort ?? Port;

    /// <summary>Binds the section once however many areas that show the endpoint are registered.</summary>
    public static IServiceCollection Register(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(IConfigureOptions<PublicSmtpOptions>))) return services;
        services.AddOptions<PublicSmtpOptions>().BindConfiguration(Section);
        return services;
    }
}
