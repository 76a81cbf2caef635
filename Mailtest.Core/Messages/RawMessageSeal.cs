using System.IO.Compression;
using System.Security.Cryptography;
using Mailtest.Core.Security;

namespace Mailtest.Core.Messages;

/// <summary>
/// The raw .eml at rest: Brotli (fastest level), then AES-256-GCM in fixed-size chunks through
/// <see cref="ChunkedSecretBox"/>, with the message id bound in, so sealed content copied onto another
/// message does not open. Both directions stream: neither sealing nor opening holds a whole message,
/// its compressed form or its ciphertext in memory.
/// <para>
/// Messages stored before chunked sealing (one AES-GCM block through <see cref="SecretBox"/>, version
/// byte 1) still open: the first byte tells the formats apart.
/// </para>
/// </summary>
public sealed class RawMessageSeal(SecretBox box, ChunkedSecretBox chunks)
{
    /// <summary>Spooled messages up to this size are sealed in memory; larger ones into a file (memory stays bounded however many arrive at once).</summary>
    public const long InMemoryLimitBytes = 256 * 1024;

    /// <summary>
    /// Seals the spooled message at <paramref name="path"/>: in memory when it is small, otherwise into a
    /// new file at <paramref name="sealedPath"/>.
    /// </summary>
    public async Task<SealedContent> SealAsync(string path, string sealedPath, Guid messageId, CancellationToken cancellationToken)
    {
        await using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        if (source.Length <= InMemoryLimitBytes)
        {
            using var sealedBytes = new MemoryStream(capacity: (int)source.Length / 2 + 256);
            await SealAsync(source, sealedBytes, messageId, cancellationToken);
            return SealedContent.InMemory(sealedBytes.ToArray());
        }
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, BufferSize = 64 * 1024, Options = FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // mail is private, sealed or not
        await using var output = new FileStream(sealedPath, options);
        await SealAsync(source, output, messageId, cancellationToken);
        return SealedContent.InFile(sealedPath, output.Length);
    }

    private async Task SealAsync(Stream source, Stream output, Guid messageId, CancellationToken cancellationToken)
    {
        await using var sealing = chunks.CreateSealingStream(output, messageId.ToByteArray(), leaveOpen: true);
        await using var brotli = new BrotliStream(sealing, CompressionLevel.Fastest, leaveOpen: true);
        await source.CopyToAsync(brotli, cancellationToken);
    }

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
            var opening = chunks.CreateOpeningStream(sealedContent, messageId.ToByteArray());
            try
            {
                // Open the first chunk now: content of another message, or a small message altered,
                // is refused here rather than at the caller's first read.
                _ = await opening.ReadAsync(Memory<byte>.Empty, cancellationToken);
            }
            catch
            {
                await opening.DisposeAsync();
                throw;
            }
            return new BrotliStream(opening, CompressionMode.Decompress);
        }

        // The format before chunks: one block, opened whole (such messages were held whole when stored, too).
        using var whole = new MemoryStream();
        whole.WriteByte(version[0]);
        await using (sealedContent) await sealedContent.CopyToAsync(whole, cancellationToken);
        var compressed = box.Open(whole.GetBuffer().AsSpan(0, (int)whole.Length), messageId.ToByteArray());
        return new BrotliStream(new MemoryStream(compressed, writable: false), CompressionMode.Decompress);
    }
}
