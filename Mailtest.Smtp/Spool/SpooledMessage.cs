using System.Buffers;

namespace Mailtest.Smtp;

/// <summary>
/// A message's raw bytes as DATA delivered them: held in memory when small (up to
/// <see cref="InMemoryLimitBytes"/>, the common case, with no file created, written, read back and
/// deleted per message), or in a spool file when larger, so memory stays bounded however large mail is.
/// Valid until the backend's <see cref="ISmtpBackend.DeliverAsync"/> returns: the engine then releases
/// the memory or deletes the file.
/// </summary>
public sealed class SpooledMessage : IDisposable
{
    /// <summary>Messages up to this size are held in memory while they arrive (while the spool's memory budget lasts).</summary>
    public const int InMemoryLimitBytes = 256 * 1024;

    private byte[]? _buffer;
    private readonly bool _pooled;
    private readonly bool _ownsFile;

    private SpooledMessage(byte[]? buffer, bool pooled, string? filePath, bool ownsFile, long length, Action? released)
    {
        _buffer = buffer;
        _pooled = pooled;
        FilePath = filePath;
        _ownsFile = ownsFile;
        Length = length;
        _released = released;
    }

    private Action? _released;

    /// <summary>A message in a file someone else owns (an API upload, a test): it is read, never deleted.</summary>
    public static SpooledMessage FromFile(string path) => new(null, false, path, ownsFile: false, new FileInfo(path).Length, null);

    /// <summary>A message already in memory.</summary>
    public static SpooledMessage FromBytes(byte[] bytes) => new(bytes, pooled: false, null, ownsFile: false, bytes.Length, null);

    /// <summary>A message DATA spooled into memory: <paramref name="buffer"/> is rented and returned on dispose.</summary>
    internal static SpooledMessage InPooledMemory(byte[] buffer, int length, Action released) =>
        new(buffer, pooled: true, null, ownsFile: false, length, released);

    /// <summary>A message DATA spooled into a file of its own, deleted on dispose.</summary>
    internal static SpooledMessage InSpoolFile(string path, long length) => new(null, false, path, ownsFile: true, length, null);

    /// <summary>Bytes of the message.</summary>
    public long Length { get; }

    /// <summary>The file holding the message, or null when it is held in memory.</summary>
    public string? FilePath { get; }

    /// <summary>The message's bytes when it is held in memory.</summary>
    public bool TryGetMemory(out ReadOnlyMemory<byte> bytes)
    {
        var buffer = _buffer;
        bytes = buffer is null ? default : buffer.AsMemory(0, (int)Length);
        return buffer is not null;
    }

    /// <summary>A new read-only, seekable stream over the message from its start.</summary>
    public Stream OpenRead()
    {
        if (_buffer is { } buffer)
            return new MemoryStream(buffer, 0, (int)Length, writable: false);
        ObjectDisposedException.ThrowIf(FilePath is null, this);
        return new FileStream(FilePath, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null && _pooled)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Exchange(ref _released, null)?.Invoke();
        }
        if (_ownsFile && FilePath is not null)
            Spool.MessageSpool.Delete(FilePath);
    }

    public override string ToString() => FilePath ?? $"{Length} bytes in memory";
}
