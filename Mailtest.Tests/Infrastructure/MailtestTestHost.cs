using System.Net;
using Mailtest.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mailtest.Tests.Infrastructure;

/// <summary>
/// The real Mailtest host, in this process: Kestrel with the HTTP and SMTP endpoints on free
/// loopback ports, a data directory of its own (SQLite by default), stopped and deleted on dispose.
/// </summary>
public sealed class MailtestTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private readonly bool _ownsDataDirectory;

    private MailtestTestHost(WebApplication app, string dataDirectory, bool ownsDataDirectory)
    {
        _app = app;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
    }

    public IServiceProvider Services => _app.Services;
    public string DataDirectory { get; }
    public Uri WebAddress => new($"http://127.0.0.1:{Services.GetRequiredService<BoundEndpoints>().Web!.Port}/");

    /// <param name="settings">Configuration on top of the defaults, e.g. <c>["Mailtest:Data:Provider"] = "Postgres"</c>.</param>
    /// <param name="configure">Changes to the host before it is built (a decorated service, say).</param>
    /// <param name="dataDirectory">An existing data directory to start on (a restart), which the caller deletes; by default a new one, deleted on dispose.</param>
    public static async Task<MailtestTestHost> StartAsync(IDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null,
        string? dataDirectory = null)
    {
        var ownsDataDirectory = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), $"mailtest-test-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dataDirectory);
        var builder = MailtestHost.CreateBuilder([]);
        var defaults = new Dictionary<string, string?>
        {
            ["Mailtest:Data:Directory"] = dataDirectory,
            ["Mailtest:Web:Address"] = IPAddress.Loopback.ToString(),
            ["Mailtest:Web:Port"] = "0",
            ["Mailtest:Smtp:Address"] = IPAddress.Loopback.ToString(),
            ["Mailtest:Smtp:Port"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            defaults[key] = value;
        builder.Configuration.AddInMemoryCollection(defaults);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        configure?.Invoke(builder);

        var app = MailtestHost.Build(builder);
        await app.Services.MigrateDatabaseAsync();
        await app.StartAsync();
        return new MailtestTestHost(app, dataDirectory, ownsDataDirectory);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (!_ownsDataDirectory) return;
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
