using System.Net;
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
}

public static class WebEndpointRegistration
{
    /// <summary>Declares the HTTP endpoint in code: endpoints defined in code replace ASPNETCORE_URLS,
    /// and the SMTP listener is declared the same way.</summary>
    public static WebApplicationBuilder AddWebEndpoint(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<WebEndpointOptions>().BindConfiguration(WebEndpointOptions.Section);
        builder.Services.AddSingleton<BoundEndpoints>();
        builder.Services.AddSingleton<IConfigureOptions<KestrelServerOptions>, ConfigureWebEndpoint>();
        return builder;
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
