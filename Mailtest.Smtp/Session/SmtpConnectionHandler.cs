using System.Net;
using Mailtest.Smtp.Tls;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailtest.Smtp.Session;

/// <summary>
/// Kestrel's entry point for SMTP connections. A singleton: each connection gets its own DI scope
/// (so the backend and what it uses, such as a DbContext, belong to one session) and its own session.
/// </summary>
internal sealed class SmtpConnectionHandler(
    IServiceScopeFactory scopes,
    SmtpSessionServices services,
    IHostApplicationLifetime lifetime,
    ILogger<SmtpConnectionHandler> logger) : ConnectionHandler
{
    /// <summary>Set in <see cref="ConnectionContext.Items"/> by the implicit-TLS listener: TLS from the first byte.</summary>
    public const string ImplicitTlsItem = "Mailtest.Smtp.ImplicitTls";

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var implicitTls = connection.Items.ContainsKey(ImplicitTlsItem);
        var remote = connection.RemoteEndPoint as IPEndPoint ?? new IPEndPoint(IPAddress.None, 0);
        if (remote.Address.IsIPv4MappedToIPv6)
            remote = new IPEndPoint(remote.Address.MapToIPv4(), remote.Port);

        var pipe = new SecurableDuplexPipe(connection.Transport);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var backend = scope.ServiceProvider.GetRequiredService<ISmtpBackend>();
            using var io = new SmtpConnection(pipe, services.Options, services.Time, lifetime.ApplicationStopping, connection.ConnectionClosed);
            await new SmtpSession(io, remote, backend, services).RunAsync(implicitTls);
        }
        catch (Exception e)
        {
            // Nothing a client sends may take the process down; this is a bug to look at, not the client's fault.
            logger.LogError(e, "SMTP session with {Remote} failed", remote);
        }
        finally
        {
            // TLS first: its last bytes and close_notify go out through the transport, so it closes after.
            await pipe.DisposeAsync();
            await connection.Transport.Output.CompleteAsync();
            await connection.Transport.Input.CompleteAsync();
        }
    }
}
