using System.Net;
using Mailtest.Smtp;
using Mailtest.Tests.Smtp.Fakes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mailtest.Tests.Smtp;

/// <summary>
/// A minimal host: Kestrel with only the SMTP listeners from <c>AddSmtpCapture()</c>, on 127.0.0.1
/// port 0 (STARTTLS and implicit TLS), and a fake backend that records deliveries.
/// </summary>
public sealed class SmtpTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsDataDirectory;

    private SmtpTestHost(WebApplication app, FakeSmtpBackend backend, string dataDirectory, bool ownsDataDirectory)
    {
        _app = app;
        Backend = backend;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
    }

    public FakeSmtpBackend Backend { get; }
    public string DataDirectory { get; }
    public SmtpListeners Listeners => _app.Services.GetRequiredService<SmtpListeners>();
    public IPEndPoint StartTls => Listeners.StartTls ?? throw new InvalidOperationException("No STARTTLS listener.");
    public IPEndPoint ImplicitTls => Listeners.ImplicitTls ?? throw new InvalidOperationException("No implicit-TLS listener.");

    /// <param name="dataDirectory">An existing data directory to reuse (kept on dispose); a fresh one otherwise.</param>
    /// <param name="logs">Receives what the host logs at Warning and above.</param>
    public static async Task<SmtpTestHost> StartAsync(FakeSmtpBackend? backend = null, string? dataDirectory = null, IDictionary<string, string?>? settings = null,
        ILoggerProvider? logs = null)
    {
        backend ??= new FakeSmtpBackend().WithLogin("odoo-env-1", "s3cret-Passw0rd!");
        var ownsDataDirectory = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), $"mailtest-smtp-host-{Guid.NewGuid():N}");
        var builder = WebApplication.CreateSlimBuilder();
        var configuration = new Dictionary<string, string?>
        {
            ["Mailtest:Data:Directory"] = dataDirectory,
            ["Mailtest:Smtp:Address"] = IPAddress.Loopback.ToString(),
            ["Mailtest:Smtp:Port"] = "0",
            ["Mailtest:Smtp:ImplicitTlsPort"] = "0",
            ["Mailtest:Smtp:PublicHost"] = "localhost",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            configuration[key] = value;
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (logs is not null)
            builder.Logging.AddProvider(logs);
        builder.AddSmtpCapture();
        builder.Services.AddScoped<ISmtpBackend>(_ => backend);
        var app = builder.Build();
        await app.StartAsync();
        return new SmtpTestHost(app, backend, dataDirectory, ownsDataDirectory);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsDataDirectory)
            try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}
