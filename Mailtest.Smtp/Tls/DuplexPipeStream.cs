using System.Buffers;
using System.IO.Pipelines;

namespace Mailtest.Smtp.Tls;

/// <summary>A <see cref="Stream"/> over a connection's pipes, for <see cref="System.Net.Security.SslStream"/>.
/// It never completes the pipes: the connection owns them. Asynchronous only: a pipe cannot be read or
/// flushed without awaiting, and blocking a thread-pool thread on it (sync over async) could starve
/// the server, so the synchronous members throw instead.</summary>
internal sealed class DuplexPipeStream(IDuplexPipe pipe) : Stream
{
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await pipe.Input.ReadAsync(cancellationToken);
            var readable = result.Buffer;
            if (!readable.IsEmpty)
            {
                var count = (int)Math.Min(readable.Length, buffer.Length);
                readable.Slice(0, count).CopyTo(buffer.Span);
                pipe.Input.AdvanceTo(readable.GetPosition(count));
                return count;
            }
            pipe.Input.AdvanceTo(readable.End);
            if (result.IsCompleted || result.IsCanceled)
                return 0;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw SynchronousIo();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var result = await pipe.Output.WriteAsync(buffer, cancellationToken);
        if (result.IsCompleted)
            throw new IOException("The connection is closed.");
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => throw SynchronousIo();

    public override Task FlushAsync(CancellationToken cancellationToken) => pipe.Output.FlushAsync(cancellationToken).AsTask();

    public override void Flush() => throw SynchronousIo();

    private static NotSupportedException SynchronousIo() =>
        new("A connection's pipes are read and written asynchronously only; use ReadAsync, WriteAsync and FlushAsync.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
