using Mailtest.Core.Audit;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailtest.Tests.Data;

/// <summary>
/// Core's services (data, tenancy, message store, capture) without the web host: a real database
/// (SQLite in a temp data directory, or a fresh PostgreSQL database), migrated. Tests that share one
/// work in environments of their own, so they stay independent.
/// </summary>
public sealed class CoreServices : IAsyncDisposable
{
    private readonly IHost _host;

    private readonly bool _ownsDataDirectory;

    private CoreServices(IHost host, string dataDirectory, DatabaseProvider provider, bool ownsDataDirectory)
    {
        _host = host;
        _ownsDataDirectory = ownsDataDirectory;
        DataDirectory = dataDirectory;
        Provider = provider;
    }

    public IServiceProvider Services => _host.Services;
    public string DataDirectory { get; }
    public DatabaseProvider Provider { get; }

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <param name="dataDirectory">An existing directory to share (left in place on dispose); by default a temp one of its own.</param>
    public static async Task<CoreServices> StartAsync(DatabaseProvider provider, PostgresServer? postgres = null,
        IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configure = null, string? dataDirectory = null)
    {
        var ownsDataDirectory = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), $"mailtest-core-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dataDirectory);
        var configuration = new Dictionary<string, string?>
        {
            ["Mailtest:Data:Directory"] = dataDirectory,
            ["Mailtest:Data:Provider"] = provider.ToString(),
        };
        if (provider == DatabaseProvider.Postgres)
            configuration["Mailtest:Data:ConnectionString"] = await postgres!.CreateDatabaseAsync("core");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) configuration[key] = value;

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddMailtestData();
        builder.AddAudit();
        builder.AddTenancy();
        builder.AddMessageStore();
        builder.AddCapture();
        builder.Services.AddRetention();
        builder.AddMailtestLifecycle();
        configure?.Invoke(builder.Services);
        var host = builder.Build();
        await host.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
        return new CoreServices(host, dataDirectory, provider, ownsDataDirectory);
    }

    /// <summary>A new organization, project and environment of their own.</summary>
    public async Task<ProjectEnvironment> CreateEnvironmentAsync(Plan plan = Plan.Pro, EnvironmentKind kind = EnvironmentKind.Staging, string name = "staging")
    {
        var tenancy = Get<TenancyAdministration>();
        var organization = await tenancy.CreateOrganizationAsync($"Org {Guid.NewGuid():N}", plan);
        var project = await tenancy.CreateProjectAsync(organization.Id, "Shop");
        var environment = await tenancy.CreateEnvironmentAsync(project.Id, name, kind);
        environment.Project = project;
        project.Organization = organization;
        return environment;
    }

    /// <summary>Ingests <paramref name="eml"/> as the SMTP session hands it over: in memory when small, else spooled to a file.</summary>
    public async Task<Guid> IngestAsync(ProjectEnvironment environment, string eml, string envelopeFrom = "sender@example.com", params string[] envelopeTo) =>
        await IngestAsync(environment, System.Text.Encoding.UTF8.GetBytes(eml), envelopeFrom, envelopeTo);

    public async Task<Guid> IngestAsync(ProjectEnvironment environment, byte[] eml, string envelopeFrom, string[] envelopeTo)
    {
        var inMemory = eml.Length <= SpooledMessage.InMemoryLimitBytes;
        var spool = Path.Combine(DataDirectory, $"spool-{Guid.NewGuid():N}.eml");
        if (!inMemory)
            await File.WriteAllBytesAsync(spool, eml);
        try
        {
            return await Get<MessageIngest>().IngestAsync(new IngestRequest(
                environment.Project!.OrganizationId, environment.Id, envelopeFrom,
                envelopeTo.Length == 0 ? ["someone@example.com"] : envelopeTo,
                inMemory ? SpooledMessage.FromBytes(eml) : SpooledMessage.FromFile(spool)));
        }
        finally { File.Delete(spool); }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        if (_host is IAsyncDisposable asyncDisposable) await asyncDisposable.DisposeAsync();
        else _host.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (!_ownsDataDirectory) return;
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>One SQLite-backed <see cref="CoreServices"/> shared by a test class.</summary>
public sealed class SqliteCore : IAsyncLifetime
{
    public CoreServices Core { get; private set; } = null!;
    public async ValueTask InitializeAsync() => Core = await CoreServices.StartAsync(DatabaseProvider.Sqlite);
    public ValueTask DisposeAsync() => Core.DisposeAsync();
}

/// <summary>One PostgreSQL-backed <see cref="CoreServices"/> (a fresh database) shared by a test class.</summary>
public sealed class PostgresCore(PostgresServer postgres) : IAsyncLifetime
{
    public CoreServices Core { get; private set; } = null!;
    public async ValueTask InitializeAsync() => Core = await CoreServices.StartAsync(DatabaseProvider.Postgres, postgres);
    public ValueTask DisposeAsync() => Core.DisposeAsync();
}
