using System.Buffers;
using System.IO.Pipelines;

namespace Mailtest.Smtp.Spool;

/// <summary>How a DATA section ended.</summary>
/// <param name="Size">Bytes of the message after dot-unstuffing and CRLF normalisation (RFC 1870's measure).</param>
/// <param name="TooLarge">The message passed the limit; storing stopped there.</param>
/// <param name="SpoolFailure">Writing the spool failed (disk full, disk error); storing stopped there.</param>
/// <param name="ConnectionClosed">The client went away before the final dot.</param>
internal readonly record struct DataOutcome(long Size, bool TooLarge, IOException? SpoolFailure, bool ConnectionClosed);

/// <summary>
/// DATA (RFC 5321 §4.5.2) copied to the spool in large writes: lines are dot-unstuffed, a bare LF
/// ends a line as CRLF does (normalised to CRLF), and the lone <c>.</c> ends the message. Lines of any
/// length are kept byte for byte (the message size limit is the only bound). Bytes are copied from
/// the connection's buffers into one chunk of <see cref="ChunkBytes"/> and written when it is full
/// or the message ends, so a 10 KB message is one write. Over the limit, or once the spool failed,
/// it stops storing but keeps reading to the final dot, so the session stays in step.
/// </summary>
internal sealed class MessageDataReceiver(Func<ValueTask<ReadResult>> read, PipeReader input, long maxMessageBytes)
{
    public const int ChunkBytes = 64 * 1024;
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';
    private const byte Dot = (byte)'.';

    private enum ScanStop { NeedMore, ChunkFull, Finished }

    private byte[] _chunk = [];
    private int _chunkLength;
    private long _size;
    private bool _atLineStart = true;
    private byte _lastByte;
    private IOException? _spoolFailure;

    private bool Storing => _size <= maxMessageBytes && _spoolFailure is null;

    public async Task<DataOutcome> ReceiveAsync(Stream spool)
    {
        _chunk = ArrayPool<byte>.Shared.Rent(ChunkBytes + 2); // + room for the CRLF that ends a line
        try
        {
            while (true)
            {
                var result = await read();
                var stop = Scan(result.Buffer, out var consumed);
                // Examined up to the end only when more bytes are needed: after the final dot pipelined
                // commands may follow, and with a full chunk the rest is scanned right after the write.
                input.AdvanceTo(consumed, stop == ScanStop.NeedMore ? result.Buffer.End : consumed);
                if (stop != ScanStop.NeedMore)
                    await WriteChunkAsync(spool);
                if (stop == ScanStop.Finished)
                    return new DataOutcome(_size, _size > maxMessageBytes, _spoolFailure, ConnectionClosed: false);
                if (stop == ScanStop.NeedMore && result.IsCompleted)
                    return new DataOutcome(_size, _size > maxMessageBytes, _spoolFailure, ConnectionClosed: true);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_chunk);
            _chunk = [];
        }
    }

    /// <summary>Copies what <paramref name="buffer"/> holds of the message into the chunk, up to the final dot,
    /// a full chunk, or the end of what arrived.</summary>
    private ScanStop Scan(ReadOnlySequence<byte> buffer, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        var stop = ScanLines(ref reader);
        consumed = reader.Position;
        return stop;
    }

    private ScanStop ScanLines(ref SequenceReader<byte> reader)
    {
        while (true)
        {
            if (_chunkLength >= ChunkBytes)
                return ScanStop.ChunkFull;
            if (_atLineStart)
            {
                if (!reader.TryPeek(out var first))
                    return ScanStop.NeedMore;
                if (first == Dot)
                {
                    // ".CRLF" or ".LF" ends the message; any other leading dot was stuffed (removed).
                    if (!reader.TryPeek(1, out var second))
                        return ScanStop.NeedMore;
                    if (second == Lf)
                    {
                        reader.Advance(2);
                        return ScanStop.Finished;
                    }
                    if (second == Cr)
                    {
                        if (!reader.TryPeek(2, out var third))
                            return ScanStop.NeedMore;
                        if (third == Lf)
                        {
                            reader.Advance(3);
                            return ScanStop.Finished;
                        }
                    }
                    reader.Advance(1);
                }
                _atLineStart = false;
            }

            var unread = reader.UnreadSequence;
            var lf = unread.PositionOf(Lf);
            var run = lf is null ? unread : unread.Slice(0, lf.Value);
            var lineEnds = lf is not null;
            if (Storing && run.Length > ChunkBytes - _chunkLength)
            {
                run = run.Slice(0, ChunkBytes - _chunkLength); // the rest of this line goes in the next chunk
                lineEnds = false;
            }
            Append(run);
            reader.Advance(run.Length);
            if (!lineEnds)
            {
                if (reader.End)
                    return ScanStop.NeedMore;
                continue;
            }
            reader.Advance(1);
            if (_lastByte != Cr)
                Append(Cr); // a bare LF ends the line as CRLF would
            Append(Lf);
            _atLineStart = true;
        }
    }

    private void Append(ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsEmpty)
            return;
        _size += bytes.Length;
        if (Storing)
        {
            bytes.CopyTo(_chunk.AsSpan(_chunkLength));
            _chunkLength += (int)bytes.Length;
        }
        _lastByte = bytes.Slice(bytes.Length - 1).FirstSpan[0];
    }

    private void Append(byte value)
    {
        _size++;
        if (Storing)
            _chunk[_chunkLength++] = value;
        _lastByte = value;
    }

    private async ValueTask WriteChunkAsync(Stream spool)
    {
        var length = _chunkLength;
        _chunkLength = 0;
        if (length == 0 || !Storing)
            return;
        try
        {
            await spool.WriteAsync(_chunk.AsMemory(0, length));
        }
        catch (IOException e)
        {
            _spoolFailure = e;
        }
    }
}
