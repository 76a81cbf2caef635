using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Mailtest.Core.Security;

/// <summary>
/// Streaming AES-256-GCM for values too large to hold in memory (raw messages): the plaintext is
/// sealed in fixed-size chunks, each with its own tag, so sealing and opening need one chunk of
/// memory, never the whole value.
/// <para>
/// Layout: version byte (2), an 8-byte random prefix, then chunks of <see cref="ChunkSize"/>
/// plaintext bytes, each followed by its 16-byte tag; the last chunk is shorter than
/// <see cref="ChunkSize"/> (possibly empty) and is marked final. Each chunk's nonce is the prefix and
/// its index; its associated data is the owner, its index and the final mark. So a chunk altered,
/// moved to another position or another owner, a stream cut short at any point, or bytes added after
/// the final chunk, all fail to open (the same construction as libsodium's secretstream / Tink's
/// streaming AEAD).
/// </para>
/// </summary>
public sealed class ChunkedSecretBox(InstallationSecrets secrets)
{
    public const byte Version = 2;
    public const int ChunkSize = 64 * 1024;
    private const int TagSize = 16;
    private const int PrefixSize = 8;

    /// <summary>A write-only stream that seals what is written to it into <paramref name="output"/>;
    /// disposing it writes the final chunk (and closes <paramref name="output"/> unless <paramref name="leaveOpen"/>).</summary>
    public Stream CreateSealingStream(Stream output, ReadOnlySpan<byte> owner, bool leaveOpen = false) =>
        new SealingStream(new AesGcm(secrets.EncryptionKey, TagSize), output, owner.ToArray(), leaveOpen);

    /// <summary>
    /// Seals a value already held in memory in one call: exactly the layout the sealing stream writes, sealed
    /// straight into the result. For every captured message up to the SMTP engine's in-memory limit, where the
    /// stream's two 64 KB chunk buffers were most of what ingest allocated per message.
    /// </summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> owner)
    {
        var chunks = plaintext.Length / ChunkSize + 1; // the final chunk is always shorter than a full one, possibly empty
        var sealedBytes = new byte[1 + PrefixSize + plaintext.Length + chunks * TagSize];
        sealedBytes[0] = Version;
        var prefix = sealedBytes.AsSpan(1, PrefixSize);
        RandomNumberGenerator.Fill(prefix);
        var ownerBytes = owner.ToArray();
        using var aes = new AesGcm(secrets.EncryptionKey, TagSize);
        Span<byte> nonce = stackalloc byte[12];
        var at = 1 + PrefixSize;
        for (var index = 0; index < chunks; index++)
        {
            var plain = plaintext.Slice(index * ChunkSize, Math.Min(ChunkSize, plaintext.Length - index * ChunkSize));
            ChunkNonce(nonce, prefix, (uint)index);
            aes.Encrypt(nonce, plain, sealedBytes.AsSpan(at, plain.Length), sealedBytes.AsSpan(at + plain.Length, TagSize),
                ChunkAssociatedData(ownerBytes, (uint)index, final: index == chunks - 1));
            at += plain.Length + TagSize;
        }
        return sealedBytes;
    }

    /// <summary>
    /// A read-only stream of the plaintext sealed in <paramref name="input"/>, which is positioned just
    /// after the version byte (callers read it to tell formats apart).
    /// </summary>
    /// <remarks>Reads throw <see cref="CryptographicException"/> as soon as a chunk does not open or the stream ends early.</remarks>
    public Stream CreateOpeningStream(Stream input, ReadOnlySpan<byte> owner, bool leaveOpen = false) =>
        new OpeningStream(new AesGcm(secrets.EncryptionKey, TagSize), input, owner.ToArray(), leaveOpen);

    private static void ChunkNonce(Span<byte> nonce, ReadOnlySpan<byte> prefix, uint index)
    {
        prefix.CopyTo(nonce);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[PrefixSize..], index);
    }

    private static byte[] ChunkAssociatedData(byte[] owner, uint index, bool final)
    {
        var data = new byte[owner.Length + 5];
        owner.CopyTo(data, 0);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(owner.Length), index);
        data[^1] = final ? (byte)1 : (byte)0;
        return data;
    }

    private sealed class SealingStream(AesGcm aes, Stream output, byte[] owner, bool leaveOpen) : Stream
    {
        private const int HeaderSize = 1 + PrefixSize;
        private readonly byte[] _plain = new byte[ChunkSize];
        /// <summary>Room for the header, then one sealed chunk.</summary>
        private readonly byte[] _record = new byte[HeaderSize + ChunkSize + TagSize];
        private readonly byte[] _prefix = RandomNumberGenerator.GetBytes(PrefixSize);
        private int _filled;
        private uint _index;
        private bool _finished;

        private void WriteHeaderInto() { _record[0] = Version; _prefix.CopyTo(_record, 1); }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => !_finished;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            if (_index == 0) WriteHeaderInto();
            while (!buffer.IsEmpty)
            {
                var take = Math.Min(buffer.Length, ChunkSize - _filled);
                buffer[..take].CopyTo(_plain.AsSpan(_filled));
                _filled += take;
                buffer = buffer[take..];
                // A full chunk is never the last: the final chunk is always shorter (possibly empty).
                if (_filled == ChunkSize) output.Write(SealChunk(final: false).Span);
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            if (_index == 0) WriteHeaderInto();
            while (!buffer.IsEmpty)
            {
                var take = Math.Min(buffer.Length, ChunkSize - _filled);
                buffer[..take].CopyTo(_plain.AsMemory(_filled));
                _filled += take;
                buffer = buffer[take..];
                if (_filled == ChunkSize) await output.WriteAsync(SealChunk(final: false), cancellationToken);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        /// <summary>Seals the buffered plaintext as the next chunk; the first chunk carries the header in front.</summary>
        private ReadOnlyMemory<byte> SealChunk(bool final)
        {
            Span<byte> nonce = stackalloc byte[12];
            ChunkNonce(nonce, _prefix, _index);
            var record = _record.AsSpan(HeaderSize);
            aes.Encrypt(nonce, _plain.AsSpan(0, _filled), record[.._filled], record.Slice(_filled, TagSize), ChunkAssociatedData(owner, _index, final));
            var start = _index == 0 ? 0 : HeaderSize;
            var end = HeaderSize + _filled + TagSize;
            _index = checked(_index + 1);
            _filled = 0;
            return _record.AsMemory(start, end - start);
        }

        public override void Flush() => output.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => output.FlushAsync(cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_finished)
            {
                _finished = true;
                if (_index == 0) WriteHeaderInto();
                output.Write(SealChunk(final: true).Span);
                output.Flush();
                aes.Dispose();
                if (!leaveOpen) output.Dispose();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (!_finished)
            {
                _finished = true;
                if (_index == 0) WriteHeaderInto();
                await output.WriteAsync(SealChunk(final: true));
                await output.FlushAsync();
                aes.Dispose();
                if (!leaveOpen) await output.DisposeAsync();
            }
            await base.DisposeAsync();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class OpeningStream(AesGcm aes, Stream input, byte[] owner, bool leaveOpen) : Stream
    {
        private readonly byte[] _sealed = new byte[ChunkSize + TagSize];
        private readonly byte[] _plain = new byte[ChunkSize];
        private byte[]? _prefix;
        private int _available;
        private int _offset;
        private uint _index;
        private bool _final;
        private bool _disposed;

        public override bool CanRead => !_disposed;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            while (_offset == _available)
            {
                if (_final) return 0;
                _prefix ??= Prefix(ReadFully(new byte[PrefixSize]));
                OpenChunk(ReadFully(_sealed));
            }
            return CopyOut(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_offset == _available)
            {
                if (_final) return 0;
                _prefix ??= Prefix(await ReadFullyAsync(new byte[PrefixSize], cancellationToken));
                OpenChunk(await ReadFullyAsync(_sealed, cancellationToken));
            }
            return CopyOut(buffer.Span);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int CopyOut(Span<byte> buffer)
        {
            var count = Math.Min(buffer.Length, _available - _offset);
            _plain.AsSpan(_offset, count).CopyTo(buffer);
            _offset += count;
            return count;
        }

        private static byte[] Prefix((byte[] Buffer, int Read) header) =>
            header.Read == PrefixSize ? header.Buffer : throw new CryptographicException("The sealed value is cut short: its header is incomplete.");

        private void OpenChunk((byte[] Buffer, int Read) chunk)
        {
            // A full record is followed by more; a shorter one is the final chunk.
            var read = chunk.Read;
            if (read < TagSize) throw new CryptographicException("The sealed value is cut short: its final chunk is missing.");
            var final = read < ChunkSize + TagSize;
            var plainLength = read - TagSize;
            Span<byte> nonce = stackalloc byte[12];
            ChunkNonce(nonce, _prefix!, _index);
            aes.Decrypt(nonce, _sealed.AsSpan(0, plainLength), _sealed.AsSpan(plainLength, TagSize), _plain.AsSpan(0, plainLength), ChunkAssociatedData(owner, _index, final));
            _index = checked(_index + 1);
            _available = plainLength;
            _offset = 0;
            _final = final;
        }

        private (byte[] Buffer, int Read) ReadFully(byte[] buffer)
        {
            var read = 0;
            while (read < buffer.Length)
            {
                var n = input.Read(buffer, read, buffer.Length - read);
                if (n == 0) break;
                read += n;
            }
            return (buffer, read);
        }

        private async Task<(byte[] Buffer, int Read)> ReadFullyAsync(byte[] buffer, CancellationToken cancellationToken)
        {
            var read = 0;
            while (read < buffer.Length)
            {
                var n = await input.ReadAsync(buffer.AsMemory(read), cancellationToken);
                if (n == 0) break;
                read += n;
            }
            return (buffer, read);
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                aes.Dispose();
                if (!leaveOpen) input.Dispose();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                _disposed = true;
                aes.Dispose();
                if (!leaveOpen) await input.DisposeAsync();
            }
            await base.DisposeAsync();
        }
    }
}
