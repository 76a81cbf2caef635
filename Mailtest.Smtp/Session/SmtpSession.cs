using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Mailtest.Smtp.Protocol;
using Mailtest.Smtp.Tls;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mailtest.Smtp.Session;

/// <summary>
/// One SMTP conversation: reads command lines, checks them against <see cref="SmtpStateTable"/>,
/// runs their handlers (SmtpSession.Commands.cs, SmtpSession.Auth.cs) and writes the replies.
/// Every read is bounded by the command (or DATA) timeout, the session timeout and host shutdown.
/// </summary>
internal sealed partial class SmtpSession : ISmtpCommandHandlers, IDisposable
{
    private static readonly TimeSpan FinalReplyTimeout = TimeSpan.FromSeconds(10);

    private readonly ISecurableDuplexPipe _pipe;
    private readonly IPEndPoint _remote;
    private readonly ISmtpBackend _backend;
    private readonly SmtpSessionServices _services;
    private readonly SmtpOptions _options;
    private readonly CancellationToken _shutdown;
    private readonly CancellationTokenSource _sessionDeadline;
    private readonly CancellationTokenSource _readDeadline;
    private readonly CancellationTokenSource _lifetime;

    private SmtpState _state = SmtpState.Connected;
    private bool _skippingLongLine;
    private bool _closeRequested;

    public SmtpSession(ISecurableDuplexPipe pipe, IPEndPoint remote, ISmtpBackend backend, SmtpSessionServices services,
        CancellationToken shutdown, CancellationToken connectionClosed)
    {
        _pipe = pipe;
        _remote = remote;
        _backend = backend;
        _services = services;
        _options = services.Options;
        _shutdown = shutdown;
        _sessionDeadline = new CancellationTokenSource(_options.SessionTimeout, services.Time);
        _readDeadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, services.Time);
        _lifetime = CancellationTokenSource.CreateLinkedTokenSource(shutdown, connectionClosed, _sessionDeadline.Token, _readDeadline.Token);
    }

    private IPAddress RemoteAddress => _remote.Address;
    private SmtpPeer Peer => new(_remote, _heloName, _pipe.IsSecure);

    /// <summary>Greets (or refuses) and serves commands until QUIT, a 421, a timeout or the peer leaving.</summary>
    public async Task RunAsync(bool implicitTls)
    {
        // Counted before any TLS work, so one address cannot hold more handshakes open than sessions.
        var admitted = _services.Connections.TryAcquire(RemoteAddress);
        try
        {
            await GuardAsync(async () =>
            {
                if (!admitted && implicitTls)
                    return; // not worth a handshake just to say no
                if (implicitTls && !await TryHandshakeAsync())
                    return;
                if (!admitted)
                    await ReplyAsync(SmtpReplies.TooManyConnections);
                else if (_services.Ban.IsBanned(RemoteAddress))
                    await ReplyAsync(SmtpReplies.Banned);
                else
                    await ServeAsync();
            });
        }
        finally
        {
            if (admitted)
                _services.Connections.Release(RemoteAddress);
        }
    }

    private async Task ServeAsync()
    {
        if (await _backend.CheckConnectionAsync(Peer, _lifetime.Token) is { } refusal)
        {
            await ReplyAsync(refusal);
            return;
        }
        await ReplyLinesAsync(220, [$"{_options.ServerName} ESMTP Mailtest ready"]);
        while (!_closeRequested)
        {
            var command = await ReadLineAsync(SmtpCommandParser.Parse, new OverlongLine(), _options.CommandTimeout, SmtpReplies.CommandTimeout);
            if (command is null)
                return; // the client closed the connection
            await ExecuteAsync(command);
        }
    }

    private async Task ExecuteAsync(SmtpCommand command)
    {
        if (command is OverlongLine)
        {
            await ReplyAsync(SmtpReplies.LineTooLong);
            return;
        }
        if (SmtpStateTable.Find(command.Verb) is not { } rule)
        {
            await ReplyAsync(SmtpReplies.UnknownCommand);
            return;
        }
        if (!rule.Accepts(_state))
        {
            await ReplyAsync(SmtpStateTable.BadSequence(rule));
            return;
        }
        if (CheckGuard(rule.Guard) is { } refusal)
        {
            await ReplyAsync(refusal);
            return;
        }
        if (command is MalformedCommand malformed)
        {
            await ReplyAsync(malformed.Error);
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
        SmtpGuard.NotSecure when _pipe.IsSecure => SmtpReplies.AlreadySecure,
        _ => null,
    };

    private bool AuthOffered => _pipe.IsSecure || _options.AllowAuthWithoutTls;

    /// <summary>
    /// Reads one line (LF-terminated, a preceding CR dropped) and parses it while the bytes are held.
    /// A line past <see cref="SmtpOptions.MaxLineLength"/> is skipped to its end and answered by
    /// <paramref name="overlong"/>, so the session stays in step. Null when the client closed.
    /// </summary>
    private async ValueTask<T?> ReadLineAsync<T>(Func<ReadOnlySequence<byte>, T> parse, T overlong, TimeSpan timeout, SmtpReply timeoutReply)
        where T : class
    {
        while (true)
        {
            var result = await ReadAsync(timeout, timeoutReply);
            var buffer = result.Buffer;
            var lf = buffer.PositionOf((byte)'\n');
            if (lf is null)
            {
                if (_skippingLongLine || buffer.Length > _options.MaxLineLength)
                {
                    _skippingLongLine = true;
                    _pipe.Input.AdvanceTo(buffer.End);
                }
                else
                    _pipe.Input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                    return null;
                continue;
            }
            var line = buffer.Slice(0, lf.Value);
            if (!line.IsEmpty && line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r')
                line = line.Slice(0, line.Length - 1);
            var value = _skippingLongLine || line.Length > _options.MaxLineLength ? overlong : parse(line);
            _skippingLongLine = false;
            // Consumed and examined up to the end of this line only: pipelined commands behind it are read next.
            _pipe.Input.AdvanceTo(buffer.GetPosition(1, lf.Value));
            return value;
        }
    }

    /// <summary>Reads whatever arrives within <paramref name="timeout"/> of silence.</summary>
    private async ValueTask<ReadResult> ReadAsync(TimeSpan timeout, SmtpReply timeoutReply)
    {
        _readDeadline.CancelAfter(timeout);
        try
        {
            return await _pipe.Input.ReadAsync(_lifetime.Token);
        }
        catch (OperationCanceledException) when (_lifetime.IsCancellationRequested)
        {
            throw new SmtpSessionEnded(WhyEnded(timeoutReply));
        }
        finally
        {
            if (!_readDeadline.IsCancellationRequested)
                _readDeadline.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    private SmtpReply? WhyEnded(SmtpReply readTimeout) =>
        _shutdown.IsCancellationRequested ? SmtpReplies.ShuttingDown
        : _sessionDeadline.IsCancellationRequested ? SmtpReplies.SessionTimeout
        : _readDeadline.IsCancellationRequested ? readTimeout
        : null; // the connection was closed

    private ValueTask ReplyAsync(SmtpReply reply) =>
        ReplyLinesAsync(reply.Code, [string.IsNullOrEmpty(reply.EnhancedStatus) ? reply.Text : $"{reply.EnhancedStatus} {reply.Text}"]);

    /// <summary>Writes a (multi-line) reply and flushes it. A 421 always closes the session (RFC 5321 §3.8).</summary>
    private async ValueTask ReplyLinesAsync(int code, IReadOnlyList<string> lines)
    {
        var text = new StringBuilder();
        for (var i = 0; i < lines.Count; i++)
        {
            // The backend's texts are ours, but a CR or LF in one would break the framing.
            var line = lines[i].ReplaceLineEndings(" ");
            text.Append(code).Append(i == lines.Count - 1 ? ' ' : '-').Append(line).Append("\r\n");
        }
        var flush = await _pipe.Output.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()), _sessionDeadline.Token);
        if (flush.IsCompleted)
            throw new SmtpSessionEnded(null);
        if (code == 421)
            _closeRequested = true;
    }

    /// <summary>Runs the session body; ends it quietly when the peer is gone, with a final reply when one is due.</summary>
    private async Task GuardAsync(Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (SmtpSessionEnded ended) when (ended.FinalReply is { } reply)
        {
            await TrySendFinalReplyAsync(reply);
        }
        catch (SmtpSessionEnded)
        {
        }
        catch (OperationCanceledException) when (_lifetime.IsCancellationRequested)
        {
            // Shutdown or the session deadline came while the backend or a write was busy.
            if (WhyEnded(SmtpReplies.CommandTimeout) is { } reply)
                await TrySendFinalReplyAsync(reply);
        }
        catch (Exception e) when (e is IOException or ConnectionAbortedException or ObjectDisposedException)
        {
            _services.Logger.LogDebug(e, "SMTP connection from {Remote} ended abruptly", _remote);
        }
        finally
        {
            DeleteSpoolFile();
        }
    }

    private async Task TrySendFinalReplyAsync(SmtpReply reply)
    {
        using var timeout = new CancellationTokenSource(FinalReplyTimeout, _services.Time);
        try
        {
            var text = string.IsNullOrEmpty(reply.EnhancedStatus) ? reply.Text : $"{reply.EnhancedStatus} {reply.Text}";
            await _pipe.Output.WriteAsync(Encoding.UTF8.GetBytes($"{reply.Code} {text}\r\n"), timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer is not listening any more.
        }
    }

    public void Dispose()
    {
        _lifetime.Dispose();
        _readDeadline.Dispose();
        _sessionDeadline.Dispose();
    }
}
