using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Mailtest.Web.Hosting;

/// <summary>The HTTP endpoint (dashboard, API). Bound from <c>Mailtest:Web</c>.</summary>
public sealed class WebEndpointOptions
{
    public const string Section = "Mailtest:Web";

    public string Address { get; set; } = "0.0.0.0";
    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; set; } = 5000;

    /// <summary>
    /// The reverse proxies (TLS terminators) in front of Mailtest, as addresses (<c>10.0.0.5</c>) or
    /// networks (<c>10.0.0.0/8</c>). Only from these are <c>X-Forwarded-For</c> and
    /// <c>X-Forwarded-Proto</c> believed: the client address then comes from the proxy (audit log,
    /// sign-in throttle) and a request the proxy received over HTTPS counts as HTTPS (Secure cookies).
    /// Empty: no forwarded header is believed.
    /// </summary>
    public string[] KnownProxies { get; set; } = [];
}

public static class WebEndpointRegistration
{
    /// <summary>Declares the HTTP endpoint in code: endpoints defined in code replace ASPNETCORE_URLS,
    /// and the SMTP listener is declared the same way.</summary>
    public static WebApplicationBuilder AddWebEndpoint(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<WebEndpointOptions>().BindConfiguration(WebEndpointOptions.Section)
            .Validate(o => o.KnownProxies.All(IsAddressOrNetwork), "Mailtest:Web:KnownProxies: each entry is an IP address (10.0.0.5) or a network (10.0.0.0/8).")
            .ValidateOnStart();
        builder.Services.AddSingleton<BoundEndpoints>();
        builder.Services.AddSingleton<IConfigureOptions<KestrelServerOptions>, ConfigureWebEndpoint>();
        builder.Services.AddSingleton<IConfigureOptions<ForwardedHeadersOptions>, ConfigureKnownProxies>();
        return builder;
    }

    /// <summary>Believes forwarded headers from the configured proxies only; first in the pipeline, so everything after sees the client's address and scheme.</summary>
    public static WebApplication UseKnownProxies(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<WebEndpointOptions>>().Value.KnownProxies.Length > 0)
            app.UseForwardedHeaders();
        return app;
    }

    private static bool IsAddressOrNetwork(string entry) =>
        entry.Contains('/') ? System.Net.IPNetwork.TryParse(entry.Trim(), out _) : IPAddress.TryParse(entry.Trim(), out _);

    private sealed class ConfigureKnownProxies(IOptions<WebEndpointOptions> options) : IConfigureOptions<ForwardedHeadersOptions>
    {
        public void Configure(ForwardedHeadersOptions forwarded)
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // The framework trusts loopback by default; here only what the operator listed is trusted.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var entry in options.Value.KnownProxies.Select(p => p.Trim()).Where(p => p.Length > 0))
            {
                if (entry.Contains('/')) forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(entry));
                else forwarded.KnownProxies.Add(IPAddress.Parse(entry));
            }
            // One proxy hop: the address the trusted proxy saw is the client.
            forwarded.ForwardLimit = 1;
        }
    }

    private sealed class ConfigureWebEndpoint(IOptions<WebEndpointOptions> options, BoundEndpoints bound) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions kestrel)
        {
            var web = options.Value;
            kestrel.Listen(IPAddress.Parse(web.Address), web.Port, listen => bound.WebListen = listen);
        }
    }
}

/// <summary>The HTTP endpoint as bound: with port 0 in configuration, Kestrel fills in the real port at start.</summary>
public sealed class BoundEndpoints
{
    internal ListenOptions? WebListen { get; set; }
    public IPEndPoint? Web => WebListen?.IPEndPoint;
}
