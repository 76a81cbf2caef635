using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Mailtest.Core.Security;
using Mailtest.Smtp;
using ZstdSharp;

namespace Mailtest.Core.Messages;

/// <summary>
/// The raw .eml at rest: Zstandard (level 1), then AES-256-GCM in fixed-size chunks through
/// <see cref="ChunkedSecretBox"/>, with the message id bound in, so sealed content copied onto another
/// message does not open. Both directions stream: neither sealing nor opening holds a whole message,
/// its compressed form or its ciphertext in memory.
/// <para>
/// Zstandard replaced Brotli (quality 1) in 2026-11: on a 9 KB invoice it compresses in 21 instead of 30 µs,
/// to 0.270 instead of 0.286 of the size (`Mailtest.Bench compression`). Messages stored before still open:
/// within the chunks, the first byte tells the two apart (see <see cref="IsZstandard"/>); and messages stored
/// before chunked sealing (Brotli in one AES-GCM block through <see cref="SecretBox"/>, version byte 1) too.
/// </para>
/// </summary>
public sealed class RawMessageSeal(SecretBox box, ChunkedSecretBox chunks)
{
    /// <summary>Messages up to this size are sealed in memory, as the SMTP engine holds them in memory while they
    /// arrive; larger ones into a file (memory stays bounded however many arrive at once).</summary>
    public const long InMemoryLimitBytes = SpooledMessage.InMemoryLimitBytes;

    /// <summary>
    /// Seals <paramref name="message"/>: in memory when it is small, otherwise into a new file next to the
    /// spooled one, under a name that ends like it (so the spool's start-up sweep removes a crash's
    /// leftovers too); the writer copies that file into the database and deletes it.
    /// </summary>
    public async Task<SealedContent> SealAsync(SpooledMessage message, Guid messageId, CancellationToken cancellationToken)
    {
        if (message.TryGetMemory(out var bytes))
            return SealedContent.InMemory(Seal(bytes.Span, messageId)); // held in memory already (the engine does so only up to the limit)
        await using var source = message.OpenRead();
        if (message.Length <= InMemoryLimitBytes)
        {
            using var sealedBytes = new MemoryStream(capacity: (int)message.Length / 2 + 256);
            await SealAsync(source, sealedBytes, messageId, cancellationToken);
            return SealedContent.InMemory(sealedBytes.ToArray());
        }
        var spooled = message.FilePath!;
        var sealedPath = Path.Combine(Path.GetDirectoryName(spooled)!, "sealed-" + Path.GetFileName(spooled));
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, BufferSize = 64 * 1024, Options = FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // mail is private, sealed or not
        await using var output = new FileStream(sealedPath, options);
        await SealAsync(source, output, messageId, cancellationToken);
        return SealedContent.InFile(sealedPath, output.Length);
    }

    /// <summary>A message already in memory, compressed in one call (this thread's compressor: Zstandard keeps its
    /// tables between calls, sized to the input) and sealed in one call (<see cref="ChunkedSecretBox.Seal"/>).</summary>
    private byte[] Seal(ReadOnlySpan<byte> message, Guid messageId)
    {
        var compressed = ArrayPool<byte>.Shared.Rent(Compressor.GetCompressBound(message.Length));
        try
        {
            var length = (t_compressor ??= new Compressor(CompressionLevel)).Wrap(message, compressed);
            Span<byte> owner = stackalloc byte[16];
            messageId.TryWriteBytes(owner); // the bytes of ToByteArray(), as the stream binds them
            return chunks.Seal(compressed.AsSpan(0, length), owner);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    /// <summary>Zstandard's fastest standard level.</summary>
    private const int CompressionLevel = 1;

    [ThreadStatic] private static Compressor? t_compressor;

    private async Task SealAsync(Stream source, Stream output, Guid messageId, CancellationToken cancellationToken)
    {
        await using var sealing = chunks.CreateSealingStream(output, messageId.ToByteArray(), leaveOpen: true);
        await using var zstd = new CompressionStream(sealing, CompressionLevel, leaveOpen: true);
        await source.CopyToAsync(zstd, cancellationToken);
    }

    /// <summary>
    /// Whether compressed content starting with <paramref name="firstByte"/> is Zstandard rather than Brotli. A Zstandard
    /// frame starts with 0x28 (its magic number 0xFD2FB528, little-endian: RFC 8878 §3.1.1), whose lowest bit is 0. The Brotli
    /// streams this class wrote had windows of 2^18 and 2^22, and a stream whose window is larger than 2^16 starts with
    /// a 1 bit (RFC 7932 §9.1).
    /// </summary>
    private static bool IsZstandard(byte firstByte) => firstByte == 0x28;

    /// <summary>The original .eml, decrypted and decompressed as it is read; disposing it disposes <paramref name="sealedContent"/>.</summary>
    /// <exception cref="CryptographicException">The stored bytes were altered, cut short, or belong to another message (thrown by the read that meets them).</exception>
    public async Task<Stream> OpenAsync(Stream sealedContent, Guid messageId, CancellationToken cancellationToken = default)
    {
        var version = new byte[1];
        if (await sealedContent.ReadAtLeastAsync(version, 1, throwOnEndOfStream: false, cancellationToken) == 0)
        {
            await sealedContent.DisposeAsync();
            throw new CryptographicException("The sealed message is empty.");
        }
        if (version[0] == ChunkedSecretBox.Version)
        {
            var opening = PipeReader.Create(chunks.CreateOpeningStream(sealedContent, messageId.ToByteArray()));
            bool zstd;
            try
            {
                // The first chunk is opened now: content of another message, or a small message altered,
                // is refused here rather than at the caller's first read. Its first byte names the compression (peeked, not taken).
                var first = await opening.ReadAtLeastAsync(1, cancellationToken);
                if (first.Buffer.IsEmpty) throw new CryptographicException("The sealed message holds nothing.");
                zstd = IsZstandard(first.Buffer.FirstSpan[0]);
                opening.AdvanceTo(first.Buffer.Start);
            }
            catch
            {
                await opening.CompleteAsync();
                throw;
            }
            var decrypted = opening.AsStream();
            return zstd ? new DecompressionStream(decrypted, leaveOpen: false) : new BrotliStream(decrypted, CompressionMode.Decompress);
        }

        // The format before chunks: one block, opened whole (such messages were held whole when stored, too).
        using var whole = new MemoryStream();
        whole.WriteByte(version[0]);
        await using (sealedContent) await sealedContent.CopyToAsync(whole, cancellationToken);
        var compressed = box.Open(whole.GetBuffer().AsSpan(0, (int)whole.Length), messageId.ToByteArray());
        return new BrotliStream(new MemoryStream(compressed, writable: false), CompressionMode.Decompress);
    }
}
