using System.Buffers;
using System.IO.Pipelines;
using System.Text.Unicode;
using Mailtest.Smtp.Protocol;
using Mailtest.Smtp.Tls;

namespace Mailtest.Smtp.Session;

/// <summary>
/// A session's I/O, without the protocol: command lines read under a whole-line deadline, DATA read
/// under an inactivity deadline, and replies written into the output without a flush. Replies are
/// flushed once, when the client has nothing more buffered (so pipelined commands get their replies
/// in one write, RFC 2920), before a TLS handshake, and when the session ends. Every read is also
/// bounded by the session timeout, host shutdown and the peer closing.
/// </summary>
internal sealed class SmtpConnection : IDisposable
{
    private static readonly TimeSpan FinalReplyTimeout = TimeSpan.FromSeconds(10);

    private readonly ISecurableDuplexPipe _pipe;
    private readonly TimeProvider _time;
    private readonly int _maxLineLength;
    private readonly CancellationToken _shutdown;
    private readonly CancellationTokenSource _sessionDeadline;
    private readonly CancellationTokenSource _readDeadline;
    private readonly CancellationTokenSource _lifetime;
    private bool _skippingLongLine;
    private bool _unflushed;

    public SmtpConnection(ISecurableDuplexPipe pipe, SmtpOptions options, TimeProvider time, CancellationToken shutdown, CancellationToken connectionClosed)
    {
        _pipe = pipe;
        _time = time;
        _maxLineLength = options.MaxLineLength;
        _shutdown = shutdown;
        _sessionDeadline = new CancellationTokenSource(options.SessionTimeout, time);
        _readDeadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _lifetime = CancellationTokenSource.CreateLinkedTokenSource(shutdown, connectionClosed, _sessionDeadline.Token, _readDeadline.Token);
    }

    public ISecurableDuplexPipe Pipe => _pipe;
    public bool IsSecure => _pipe.IsSecure;

    /// <summary>Cancelled by shutdown, the session or read deadline, or the peer closing.</summary>
    public CancellationToken Lifetime => _lifetime.Token;

    public bool IsEnding => _lifetime.IsCancellationRequested;

    /// <summary>
    /// Reads one line (LF-terminated, a preceding CR dropped) and parses it while the bytes are held.
    /// The whole line must arrive within <paramref name="timeout"/>: bytes trickling in do not extend
    /// it (a slow client cannot hold a session by sending a byte now and then). A line past
    /// <see cref="SmtpOptions.MaxLineLength"/> is skipped to its end and answered by
    /// <paramref name="overlong"/>, so the session stays in step. Null when the client closed.
    /// </summary>
    public async ValueTask<T?> ReadLineAsync<T>(Func<ReadOnlySequence<byte>, T> parse, T overlong, TimeSpan timeout, SmtpReply timeoutReply)
        where T : class
    {
        _readDeadline.CancelAfter(timeout);
        try
        {
            // A command the client pipelined is already buffered: take it without flushing the replies so far.
            var buffered = _unflushed && _pipe.Input.TryRead(out var pending) ? pending : (ReadResult?)null;
            while (true)
            {
                var result = buffered ?? await ReadAsync(timeoutReply);
                buffered = null;
                var buffer = result.Buffer;
                var lf = buffer.PositionOf((byte)'\n');
                if (lf is null)
                {
                    if (_skippingLongLine || buffer.Length > _maxLineLength)
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
                var value = _skippingLongLine || line.Length > _maxLineLength ? overlong : parse(line);
                _skippingLongLine = false;
                // Consumed and examined up to the end of this line only: pipelined commands behind it are read next.
                _pipe.Input.AdvanceTo(buffer.GetPosition(1, lf.Value));
                return value;
            }
        }
        finally
        {
            if (!_readDeadline.IsCancellationRequested)
                _readDeadline.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Reads whatever arrives within <paramref name="timeout"/> of silence (DATA).</summary>
    public async ValueTask<ReadResult> ReadWithinAsync(TimeSpan timeout, SmtpReply timeoutReply)
    {
        _readDeadline.CancelAfter(timeout);
        try
        {
            return await ReadAsync(timeoutReply);
        }
        finally
        {
            if (!_readDeadline.IsCancellationRequested)
                _readDeadline.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Flushes pending replies (the client waits for them), then waits for bytes.</summary>
    private async ValueTask<ReadResult> ReadAsync(SmtpReply timeoutReply)
    {
        try
        {
            await FlushAsync();
            return await _pipe.Input.ReadAsync(_lifetime.Token);
        }
        catch (OperationCanceledException) when (_lifetime.IsCancellationRequested)
        {
            throw new SmtpSessionEnded(WhyEnded(timeoutReply));
        }
    }

    /// <summary>The reply owed to the client when the session ends now, for <paramref name="readTimeout"/> if a read timed out.</summary>
    public SmtpReply? WhyEnded(SmtpReply readTimeout) =>
        _shutdown.IsCancellationRequested ? SmtpReplies.ShuttingDown
        : _sessionDeadline.IsCancellationRequested ? SmtpReplies.SessionTimeout
        : _readDeadline.IsCancellationRequested ? readTimeout
        : null; // the connection was closed

    /// <summary>Writes a one-line reply; it is sent at the next flush.</summary>
    public void Write(SmtpReply reply) =>
        WriteLine(reply.Code, last: true, reply.EnhancedStatus, reply.Text);

    /// <summary>Writes a multi-line reply (<c>250-…</c> then <c>250 …</c>); it is sent at the next flush.</summary>
    public void WriteLines(int code, IReadOnlyList<string> lines)
    {
        for (var i = 0; i < lines.Count; i++)
            WriteLine(code, i == lines.Count - 1, "", lines[i]);
    }

    private void WriteLine(int code, bool last, string enhancedStatus, string text)
    {
        // The backend's texts are ours, but a CR or LF in one would break the framing.
        text = text.ReplaceLineEndings(" ");
        var output = _pipe.Output;
        var span = output.GetSpan(8 + (enhancedStatus.Length + text.Length + 1) * 3);
        var separator = last ? ' ' : '-';
        var ok = enhancedStatus.Length == 0
            ? Utf8.TryWrite(span, $"{code}{separator}{text}\r\n", out var written)
            : Utf8.TryWrite(span, $"{code}{separator}{enhancedStatus} {text}\r\n", out written);
        if (!ok)
            throw new InvalidOperationException("An SMTP reply did not fit its buffer.");
        output.Advance(written);
        _unflushed = true;
    }

    /// <summary>Sends what was written. Ends the session quietly when the peer is gone.</summary>
    public async ValueTask FlushAsync()
    {
        if (!_unflushed)
            return;
        _unflushed = false;
        var flush = await _pipe.Output.FlushAsync(_sessionDeadline.Token);
        if (flush.IsCompleted)
            throw new SmtpSessionEnded(null);
    }

    /// <summary>Sends <paramref name="reply"/> (after anything still pending) on a session that is ending; never throws.</summary>
    public async Task TrySendFinalReplyAsync(SmtpReply? reply)
    {
        using var timeout = new CancellationTokenSource(FinalReplyTimeout, _time);
        try
        {
            if (reply is { } final)
                Write(final);
            if (_unflushed)
                await _pipe.Output.FlushAsync(timeout.Token);
            _unflushed = false;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer is not listening any more.
        }
    }

    /// <summary>
    /// Bytes that arrived behind STARTTLS were sent in plaintext and could be an attacker's injection
    /// (CVE-2011-0411): they must not be read as commands after the handshake. Returns how many were dropped.
    /// </summary>
    public long DropBufferedInput()
    {
        long dropped = 0;
        _skippingLongLine = false;
        while (_pipe.Input.TryRead(out var result))
        {
            dropped += result.Buffer.Length;
            _pipe.Input.AdvanceTo(result.Buffer.End);
            if (result.Buffer.IsEmpty || result.IsCompleted)
                break;
        }
        return dropped;
    }

    public void Dispose()
    {
        _lifetime.Dispose();
        _readDeadline.Dispose();
        _sessionDeadline.Dispose();
    }
}
