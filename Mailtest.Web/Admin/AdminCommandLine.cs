using System.Text;
using Mailtest.Core;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Hosting;

namespace Mailtest.Web.Admin;

/// <summary>
/// The admin command line: <c>mailtest admin ...</c> for unattended installs and scripts. It builds
/// the host's services without starting Kestrel, migrates the database, runs one verb and exits:
/// 0 done, 1 refused or not found (a sentence on stderr), 2 wrong arguments (usage on stderr).
/// With <c>--json</c>, stdout carries exactly one JSON document; logs always go to stderr.
/// </summary>
public static class AdminCommandLine
{
    public const string Usage =
        "usage: admin org create NAME --plan Free|Starter|Pro|Agency | project create ORG_ID NAME | " +
        "env create PROJECT_ID NAME --kind development|staging|production [--odoo-version 13-19 --odoo-db CONNECTION] | " +
        "user create EMAIL --password PASSWORD [--platform-admin] | member add ORG_ID EMAIL --role owner|admin|member | " +
        "credentials issue ENV_ID | messages list ENV_ID [--limit N] | messages raw MESSAGE_ID | token create EMAIL [--name NAME] | " +
        "token create --environment ENV_ID --scope read|read-write [--name NAME] | " +
        "org plan ORG_ID --plan Free|Starter|Pro|Agency | org usage ORG_ID | purge run [--org ORG_ID] " +
        "[--json] [--data-dir DIR] [--Mailtest:Section:Key=value]";

    public static bool IsInvocation(string[] args) => args.Length > 0 && args[0] == "admin";

    public static async Task<int> RunAsync(string[] args)
    {
        await using var stdout = Console.OpenStandardOutput();
        return await RunAsync(args, stdout, Console.Error);
    }

    /// <param name="stdout">Where results go (bytes: <c>messages raw</c> writes the original .eml).</param>
    /// <param name="stderr">Where usage, refusals and logs go.</param>
    public static async Task<int> RunAsync(string[] args, Stream stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        AdminArguments arguments;
        AdminVerb verb;
        try
        {
            arguments = new AdminArguments(args);
            verb = AdminVerbs.Find(arguments);
        }
        catch (AdminUsageException usage)
        {
            await stderr.WriteLineAsync($"{usage.Message}\n{Usage}");
            return 2;
        }

        await using var app = BuildServices(arguments, stderr);
        try
        {
            await app.Services.MigrateDatabaseAsync(cancellationToken);
        }
        catch (InvalidOperationException database)
        {
            // A database written by a newer Mailtest, or no connection string for PostgreSQL.
            await stderr.WriteLineAsync(database.Message);
            return 1;
        }
        var output = new AdminOutput(stdout, arguments.Json);
        try
        {
            await verb(app.Services, output, cancellationToken);
            return 0;
        }
        catch (RefusalException refused)
        {
            await stderr.WriteLineAsync(refused.Message);
            return 1;
        }
    }

    private static WebApplication BuildServices(AdminArguments arguments, TextWriter stderr)
    {
        var builder = MailtestHost.CreateBuilder([.. arguments.HostArguments]);
        if (arguments.Option("data-dir") is { } dataDirectory)
            builder.Configuration.AddInMemoryCollection([new("Mailtest:Data:Directory", Path.GetFullPath(dataDirectory))]);
        // stdout is for results only.
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new StderrLoggerProvider(stderr));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        return builder.Build();
    }

    /// <summary>Warnings and errors, one line each, on the given writer (never stdout).</summary>
    private sealed class StderrLoggerProvider(TextWriter stderr) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new StderrLogger(stderr, categoryName);
        public void Dispose() { }
    }

    private sealed class StderrLogger(TextWriter stderr, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var line = new StringBuilder($"{logLevel}: {category}: {formatter(state, exception)}");
            if (exception is not null) line.Append($" ({exception.GetType().Name}: {exception.Message})");
            lock (stderr) stderr.WriteLine(line);
        }
    }
}
