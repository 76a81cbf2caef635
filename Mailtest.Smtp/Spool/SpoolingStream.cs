using System.Buffers;
using System.Numerics;

namespace Mailtest.Smtp.Spool;

/// <summary>
/// Where DATA goes while it arrives: a pooled buffer in memory up to <see cref="SpooledMessage.InMemoryLimitBytes"/>
/// (while the spool's memory budget lasts), then, past it, a spool file that receives what was held and
/// everything after. <see cref="Complete"/> hands the result over as a <see cref="SpooledMessage"/>.
/// A failure to create or write the file is an <see cref="IOException"/>, as a disk error is.
/// </summary>
internal sealed class SpoolingStream(MessageSpool spool) : Stream
{
    private const int FirstBufferBytes = 16 * 1024;

    private byte[]? _buffer;
    private int _length;
    /// <summary>Bytes of the spool's memory budget this message holds (the buffer's size as asked of the pool).</summary>
    private int _reserved;
    private FileStream? _file;
    private long _fileLength;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _file is null ? _length : _fileLength;
    public override long Position { get => Length; set => throw new NotSupportedException(); }

    /// <summary>True once the message went past what is held in memory and into a file.</summary>
    public bool Spilled => _file is not null;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (_file is null && TryHold(data.Length))
        {
            data.Span.CopyTo(_buffer.AsSpan(_length));
            _length += data.Length;
            return;
        }
        if (_file is null)
            await SpillAsync(cancellationToken);
        await _file!.WriteAsync(data, cancellationToken);
        _fileLength += data.Length;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("DATA is spooled asynchronously only; use WriteAsync.");

    /// <summary>Makes room in memory for <paramref name="count"/> more bytes, growing the buffer by doubling; false when the message must go to a file.</summary>
    private bool TryHold(int count)
    {
        var needed = (long)_length + count;
        if (needed > SpooledMessage.InMemoryLimitBytes)
            return false;
        if (_buffer is not null && needed <= _buffer.Length)
            return true;
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(needed, FirstBufferBytes));
        if (!spool.TryReserveMemory(capacity - _reserved))
            return false;
        _reserved = capacity;
        var grown = ArrayPool<byte>.Shared.Rent(capacity);
        if (_buffer is not null)
        {
            _buffer.AsSpan(0, _length).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_buffer);
        }
        _buffer = grown;
        return true;
    }

    /// <summary>Moves what memory holds into a new spool file; from now on everything is written there.</summary>
    private async ValueTask SpillAsync(CancellationToken cancellationToken)
    {
        try
        {
            _file = spool.Create();
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"The spool directory {spool.Directory} cannot be written to.", e);
        }
        if (_buffer is not null)
        {
            await _file.WriteAsync(_buffer.AsMemory(0, _length), cancellationToken);
            _fileLength = _length;
        }
        ReleaseBuffer();
    }

    /// <summary>The message as received; this stream gives up its memory or file to it.</summary>
    public SpooledMessage Complete()
    {
        if (_file is { } file)
        {
            var path = file.Name;
            file.Dispose();
            _file = null;
            return SpooledMessage.InSpoolFile(path, _fileLength);
        }
        if (_buffer is not { } buffer)
            return SpooledMessage.FromBytes([]);
        var reserved = _reserved;
        _buffer = null;
        _reserved = 0;
        return SpooledMessage.InPooledMemory(buffer, _length, () => spool.ReleaseMemory(reserved));
    }

    private void ReleaseBuffer()
    {
        spool.ReleaseMemory(_reserved);
        _reserved = 0;
        if (_buffer is not null)
            ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
        _length = 0;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            ReleaseBuffer();
            if (_file is { } file)
            {
                file.Dispose();
                MessageSpool.Delete(file.Name);
                _file = null;
            }
        }
        base.Dispose(disposing);
    }

    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
