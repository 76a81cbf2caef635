using System.IO.Compression;
using Mailtest.Core.Security;

namespace Mailtest.Core.Messages;

/// <summary>
/// The raw .eml at rest: Brotli (fastest level) and then AES-256-GCM through <see cref="SecretBox"/>,
/// with the message id as associated data, so sealed content copied onto another message does not open.
/// </summary>
public sealed class RawMessageSeal(SecretBox box)
{
    public async Task<byte[]> SealFileAsync(string path, Guid messageId, CancellationToken cancellationToken)
    {
        using var compressed = new MemoryStream();
        await using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan))
        await using (var brotli = new BrotliStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            await source.CopyToAsync(brotli, cancellationToken);
        return box.Seal(compressed.GetBuffer().AsSpan(0, (int)compressed.Length), messageId.ToByteArray());
    }

    /// <exception cref="System.Security.Cryptography.CryptographicException">The stored bytes were altered or belong to another message.</exception>
    public Stream Open(byte[] sealedContent, Guid messageId)
    {
        var compressed = box.Open(sealedContent, messageId.ToByteArray());
        var raw = new MemoryStream();
        using (var brotli = new BrotliStream(new MemoryStream(compressed), CompressionMode.Decompress))
            brotli.CopyTo(raw);
        raw.Position = 0;
        return raw;
    }
}
