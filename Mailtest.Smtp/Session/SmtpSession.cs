using System.Net;
using Mailtest.Smtp.Protection;
using Mailtest.Smtp.Protocol;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mailtest.Smtp.Session;

/// <summary>
/// One SMTP conversation: admits (or refuses) the connection, greets, then reads command lines
/// through <see cref="SmtpConnection"/>, checks them against <see cref="SmtpStateTable"/> and runs
/// their handlers (SmtpSession.Commands.cs; AUTH in SmtpSession.Auth.cs with <see cref="SaslExchange"/>;
/// DATA with <see cref="Spool.MessageDataReceiver"/>). Whatever fails, the client gets a reply.
/// </summary>
internal sealed partial class SmtpSession : ISmtpCommandHandlers
{
    private readonly SmtpConnection _connection;
    private readonly IPEndPoint _remote;
    private readonly ISmtpBackend _backend;
    private readonly SmtpSessionServices _services;
    private readonly SmtpOptions _options;

    private SmtpState _state = SmtpState.Connected;
    private bool _closeRequested;

    public SmtpSession(SmtpConnection connection, IPEndPoint remote, ISmtpBackend backend, SmtpSessionServices services)
    {
        _connection = connection;
        _remote = remote;
        _backend = backend;
        _services = services;
        _options = services.Options;
    }

    private IPAddress RemoteAddress => _remote.Address;
    private SmtpPeer Peer => new(_remote, _heloName, _connection.IsSecure);
    private CancellationToken Lifetime => _connection.Lifetime;

    /// <summary>Greets (or refuses) and serves commands until QUIT, a 421, a timeout or the peer leaving.</summary>
    public async Task RunAsync(bool implicitTls)
    {
        // Counted before any TLS work, so one address cannot hold more handshakes open than sessions.
        var admission = _services.Connections.TryAcquire(RemoteAddress);
        try
        {
            await GuardAsync(async () =>
            {
                if (admission != Admission.Admitted && implicitTls)
                    return; // not worth a handshake just to say no
                if (implicitTls && !await TryHandshakeAsync())
                    return;
                if (admission == Admission.ServerFull)
                    Reply(SmtpReplies.ServerFull);
                else if (admission == Admission.TooManyFromAddress)
                    Reply(SmtpReplies.TooManyConnections);
                else if (_services.Ban.IsBanned(RemoteAddress))
                    Reply(SmtpReplies.Banned);
                else
                    await ServeAsync();
            });
        }
        finally
        {
            if (admission == Admission.Admitted)
                _services.Connections.Release(RemoteAddress);
        }
    }

    private async Task ServeAsync()
    {
        if (await CheckConnectionAsync() is { } refusal)
        {
            Reply(refusal);
            return;
        }
        ReplyLines(220, [$"{_options.ServerName} ESMTP Mailtest ready"]);
        while (!_closeRequested)
        {
            var command = await _connection.ReadLineAsync(SmtpCommandParser.Parse, new OverlongLine(), _options.CommandTimeout, SmtpReplies.CommandTimeout);
            if (command is null)
                return; // the client closed the connection
            await ExecuteAsync(command);
        }
    }

    /// <summary>The product's say before the greeting; if it cannot answer, the client hears why (never silence).</summary>
    private async ValueTask<SmtpReply?> CheckConnectionAsync()
    {
        try
        {
            return await _backend.CheckConnectionAsync(Peer, Lifetime);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _services.BackendIncident.Failed(e, "the connection check threw");
            return SmtpReplies.ConnectionCheckFailed;
        }
    }

    private async Task ExecuteAsync(SmtpCommand command)
    {
        if (command is OverlongLine)
        {
            Reply(SmtpReplies.LineTooLong);
            return;
        }
        if (SmtpStateTable.Find(command.Verb) is not { } rule)
        {
            Reply(SmtpReplies.UnknownCommand);
            return;
        }
        if (!rule.Accepts(_state))
        {
            Reply(SmtpStateTable.BadSequence(rule));
            return;
        }
        if (CheckGuard(rule.Guard) is { } refusal)
        {
            Reply(refusal);
            return;
        }
        if (command is MalformedCommand malformed)
        {
            Reply(malformed.Error);
            return;
        }
        var result = await rule.Handler(this, command);
        if (result == CommandResult.Succeeded)
            _state = SmtpStateTable.Apply(rule.OnSuccess, _state);
        else if (result == CommandResult.Close)
            _closeRequested = true;
    }

    private SmtpReply? CheckGuard(SmtpGuard guard) => guard switch
    {
        SmtpGuard.Authenticated when _mailbox is null => SmtpReplies.AuthenticationRequired,
        SmtpGuard.MayAuthenticate when _mailbox is not null => SmtpReplies.AlreadyAuthenticated,
        SmtpGuard.MayAuthenticate when !AuthOffered => SmtpReplies.StartTlsFirst,
        SmtpGuard.NotSecure when _connection.IsSecure => SmtpReplies.AlreadySecure,
        _ => null,
    };

    private bool AuthOffered => _connection.IsSecure || _options.AllowAuthWithoutTls;

    /// <summary>Queues a reply (sent with the next flush). A 421 always closes the session (RFC 5321 §3.8).</summary>
    private void Reply(SmtpReply reply)
    {
        _connection.Write(reply);
        if (reply.Code == 421)
            _closeRequested = true;
    }

    private void ReplyLines(int code, IReadOnlyList<string> lines) => _connection.WriteLines(code, lines);

    /// <summary>Runs the session body; ends it with what is still owed to the client, quietly when the peer is gone.</summary>
    private async Task GuardAsync(Func<Task> body)
    {
        try
        {
            await body();
            await _connection.TrySendFinalReplyAsync(null); // QUIT's 221, a 421, or a refusal before the greeting
        }
        catch (SmtpSessionEnded ended)
        {
            if (ended.FinalReply is { } reply)
                await _connection.TrySendFinalReplyAsync(reply);
        }
        catch (OperationCanceledException) when (_connection.IsEnding)
        {
            // Shutdown or the session deadline came while the backend or a write was busy.
            if (_connection.WhyEnded(SmtpReplies.CommandTimeout) is { } reply)
                await _connection.TrySendFinalReplyAsync(reply);
        }
        catch (Exception e) when (e is IOException or ConnectionAbortedException or ObjectDisposedException)
        {
            _services.Logger.LogDebug(e, "SMTP connection from {Remote} ended abruptly", _remote);
        }
    }
}
