using Mailtest.Smtp;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mailtest.Bench.Ingest;

/// <summary>
/// Mailtest's SMTP engine alone (Kestrel, STARTTLS, AUTH, the spool), with a backend that accepts any
/// login and answers 250 without storing: what the engine itself costs per message, next to the bare
/// sink. Run as its own process (<c>Mailtest.Bench engine --port N</c>).
/// </summary>
public static class EngineAlone
{
    public static async Task RunAsync(int port, CancellationToken cancellationToken)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-bench-engine-{Guid.NewGuid():N}");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mailtest:Data:Directory"] = dataDirectory,
            ["Mailtest:Smtp:Address"] = "127.0.0.1",
            ["Mailtest:Smtp:Port"] = port.ToString(),
            ["Mailtest:Smtp:MaxConnectionsPerIp"] = "1000",
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddSmtpCapture();
        builder.Services.AddScoped<ISmtpBackend, AcceptEverything>();
        await using var app = builder.Build();
        await app.StartAsync(cancellationToken);
        Console.WriteLine($"engine listening on {port}");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
        await app.StopAsync(CancellationToken.None);
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
    }

    private sealed class AcceptEverything : ISmtpBackend
    {
        private static readonly SmtpMailbox Mailbox = new("bench", Guid.Empty, Guid.Empty);
        private static readonly SmtpReply Queued = new(250, "2.0.0", "Ok: discarded");

        public ValueTask<SmtpReply?> CheckConnectionAsync(SmtpPeer peer, CancellationToken cancellationToken) => ValueTask.FromResult<SmtpReply?>(null);

        public ValueTask<SmtpLoginResult> AuthenticateAsync(string username, string password, SmtpPeer peer, CancellationToken cancellationToken) =>
            ValueTask.FromResult(SmtpLoginResult.Accepted(Mailbox, 50L * 1024 * 1024));

        public ValueTask<SmtpReply?> CheckSenderAsync(SmtpMailbox mailbox, long? declaredSize, CancellationToken cancellationToken) => ValueTask.FromResult<SmtpReply?>(null);

        public ValueTask<SmtpReply> DeliverAsync(SmtpTransaction transaction, CancellationToken cancellationToken) => ValueTask.FromResult(Queued);
    }
}
