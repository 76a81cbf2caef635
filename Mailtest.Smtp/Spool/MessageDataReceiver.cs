using System.Buffers;
using System.IO.Pipelines;

namespace Mailtest.Smtp.Spool;

/// <summary>How a DATA section ended.</summary>
/// <param name="Size">Bytes of the message after dot-unstuffing and CRLF normalisation (RFC 1870's measure).</param>
/// <param name="TooLarge">The message passed the limit; storing stopped there.</param>
/// <param name="LineTooLong">A line passed <see cref="SmtpOptions.MaxLineLength"/>; storing stopped there.</param>
/// <param name="ConnectionClosed">The client went away before the final dot.</param>
internal readonly record struct DataOutcome(long Size, bool TooLarge, bool LineTooLong, bool ConnectionClosed)
{
    public bool Complete => !TooLarge && !LineTooLong && !ConnectionClosed;
}

/// <summary>
/// DATA as a line state machine (RFC 5321 §4.5.2): each line is dot-unstuffed, a bare LF ends a line
/// as CRLF does (normalised to CRLF), and the lone <c>.</c> ends the message; lines stream to the
/// spool with a running size check. Over the limit it stops storing but keeps reading to the final
/// dot, so the session stays in step. Only one partial line (at most the line cap) is ever held.
/// </summary>
internal sealed class MessageDataReceiver(Func<ValueTask<ReadResult>> read, PipeReader input, long maxMessageBytes, int maxLineLength)
{
    private static readonly byte[] CrLf = "\r\n"u8.ToArray();

    private long _size;
    private bool _tooLarge;
    private bool _lineTooLong;
    private bool _skippingLongLine;

    public async Task<DataOutcome> ReceiveAsync(Stream spool)
    {
        while (true)
        {
            var result = await read();
            var buffer = result.Buffer;
            var consumed = buffer.Start;
            var finished = false;
            while (!finished)
            {
                var rest = buffer.Slice(consumed);
                var lf = rest.PositionOf((byte)'\n');
                if (lf is null)
                {
                    if (_skippingLongLine || rest.Length > maxLineLength)
                    {
                        // Inside an overlong line: nothing of it is kept, only its end is awaited.
                        _skippingLongLine = true;
                        _lineTooLong = true;
                        consumed = buffer.End;
                    }
                    break;
                }
                var line = rest.Slice(0, lf.Value);
                consumed = rest.GetPosition(1, lf.Value);
                if (_skippingLongLine)
                {
                    _skippingLongLine = false;
                    continue;
                }
                if (!line.IsEmpty && EndsWithCr(line))
                    line = line.Slice(0, line.Length - 1);
                if (line.Length > maxLineLength)
                {
                    _lineTooLong = true;
                    continue;
                }
                if (line.Length == 1 && line.FirstSpan[0] == (byte)'.')
                {
                    finished = true;
                    break;
                }
                if (!line.IsEmpty && line.FirstSpan[0] == (byte)'.')
                    line = line.Slice(1); // dot-stuffing (RFC 5321 §4.5.2)
                await StoreLineAsync(spool, line);
            }
            // After the final dot only what was consumed counts as examined: pipelined commands may follow.
            input.AdvanceTo(consumed, finished ? consumed : buffer.End);
            if (finished)
                return new DataOutcome(_size, _tooLarge, _lineTooLong, ConnectionClosed: false);
            if (result.IsCompleted)
                return new DataOutcome(_size, _tooLarge, _lineTooLong, ConnectionClosed: true);
        }
    }

    private async ValueTask StoreLineAsync(Stream spool, ReadOnlySequence<byte> line)
    {
        _size += line.Length + CrLf.Length;
        if (_size > maxMessageBytes)
            _tooLarge = true;
        if (_tooLarge || _lineTooLong)
            return;
        foreach (var segment in line)
            await spool.WriteAsync(segment);
        await spool.WriteAsync(CrLf);
    }

    private static bool EndsWithCr(ReadOnlySequence<byte> line) => line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r';
}
