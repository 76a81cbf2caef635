using Mailtest.Tests.Infrastructure;
using System.Security.Cryptography;
using Mailtest.Core.Data;
using Mailtest.Core.Security;
using Microsoft.Extensions.Options;

namespace Mailtest.Tests.Messages;

/// <summary>
/// Raw messages are sealed in fixed-size chunks (streaming AES-GCM): what goes in comes out byte for
/// byte at every size around the chunk boundaries, and any chunk altered, moved, dropped or cut short,
/// or content bound to another message, is refused.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class ChunkedSealingTests
{
    private const int Chunk = ChunkedSecretBox.ChunkSize;
    private const int Record = Chunk + 16;
    private const int Header = 9;
    private static readonly byte[] Owner = Guid.NewGuid().ToByteArray();

    private readonly ChunkedSecretBox _box;

    public ChunkedSealingTests()
    {
        // A data directory of its own: InstallationSecrets makes its data directory owner-only.
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-sealing-{Guid.NewGuid():N}");
        try
        {
            _box = new(new InstallationSecrets(
                Options.Create(new SecurityOptions
                {
                    EncryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                    CredentialHashKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                }),
                Options.Create(new DataOptions { Directory = dataDirectory })));
        }
        finally { Directory.Delete(dataDirectory, recursive: true); }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Chunk - 1)]
    [InlineData(Chunk)]
    [InlineData(Chunk + 1)]
    [InlineData(3 * Chunk + 17)]
    public async Task Round_trips_byte_for_byte_at_every_size_around_the_chunk_boundaries(int size)
    {
        var plaintext = RandomNumberGenerator.GetBytes(size);

        var sealedBytes = await SealAsync(plaintext, writeSize: 1000);

        Assert.Equal(Header + (size / Chunk + 1) * 16 + size, sealedBytes.Length); // a final chunk, always shorter than a full one
        if (size >= 32) Assert.Equal(-1, sealedBytes.AsSpan().IndexOf(plaintext.AsSpan(0, 32))); // encrypted, not copied
        Assert.Equal(plaintext, await OpenAsync(sealedBytes));
        Assert.Equal(plaintext, Open(sealedBytes)); // the synchronous reader too
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Chunk - 1)]
    [InlineData(Chunk)]
    [InlineData(Chunk + 1)]
    [InlineData(3 * Chunk + 17)]
    public async Task A_value_sealed_in_one_call_has_the_streams_layout_and_opens_only_as_itself(int size)
    {
        // Messages held in memory are sealed in one call; what the stream seals and what the call seals must open alike.
        var plaintext = RandomNumberGenerator.GetBytes(size);

        var sealedBytes = _box.Seal(plaintext, Owner);

        Assert.Equal((await SealAsync(plaintext)).Length, sealedBytes.Length);
        if (size >= 32) Assert.Equal(-1, sealedBytes.AsSpan().IndexOf(plaintext.AsSpan(0, 32)));
        Assert.Equal(plaintext, await OpenAsync(sealedBytes));
        Assert.Equal(plaintext, Open(sealedBytes));
        Assert.NotEqual(sealedBytes, _box.Seal(plaintext, Owner)); // a fresh random prefix each time
        await Assert.ThrowsAnyAsync<CryptographicException>(() => OpenAsync(sealedBytes, Guid.NewGuid().ToByteArray()));
        var altered = sealedBytes.ToArray();
        altered[^1] ^= 0x01; // the final chunk's tag
        await Assert.ThrowsAnyAsync<CryptographicException>(() => OpenAsync(altered));
        if (size > Chunk)
        {
            var truncated = sealedBytes.AsSpan(0, Header + Record).ToArray(); // only the first, full chunk
            await Assert.ThrowsAnyAsync<CryptographicException>(() => OpenAsync(truncated));
        }
    }

    [Fact]
    public async Task An_altered_byte_in_any_chunk_is_refused()
    {
        var sealedBytes = await SealAsync(RandomNumberGenerator.GetBytes(3 * Chunk + 100));
        foreach (var position in new[] { Header + 5, Header + Record + 7, Header + 3 * Record + 20, sealedBytes.Length - 1 })
        {
            var altered = sealedBytes.ToArray();
            altered[position] ^= 0x40;
            await Assert.ThrowsAnyAsync<CryptographicException>(() => OpenAsync(altered));
        }
    }

    [Fact]
    public async Task Chunks_swapped_or_a_chunk_dropped_are_refused()
    {
        var sealedBytes = await SealAsync(RandomNumberGenerator.GetBytes(3 * Chunk + 100));
        var chunks = Enumerable.Range(0, 4).Select(i => sealedBytes.AsSpan(Header + i * Record, Math.Min(Record, sealedBytes.Length - Header - i * Record)).ToArray()).ToArray();
        byte[] Assemble(params int[] order) => [.. sealedBytes.AsSpan(0, Header), .. order.SelectMany(i => chunks[i])];

        Assert.Equal(sealedBytes, Assemble(0, 1, 2, 3)); // the pieces are cut right
        await Assert.ThrowsAnyAsync<CryptographicException>(() => OpenAsync(Assemble(1, 0, 2, 3)));
        await Assert.ThrowsAnyAsync<CryptographicException>(() => OpenAsync(Assemble(0, 2, 1, 3)));
        await Assert.ThrowsAnyAsync<CryptographicException>(() => OpenAsync(Assemble(0, 2, 3)));
        await Assert.ThrowsAnyAsync<CryptographicException>(() => OpenAsync(Assemble(0, 1, 3, 3)));
    }

    [Fact]
    public async Task A_stream_cut_short_anywhere_is_refused()
    {
        var sealedBytes = await SealAsync(RandomNumberGenerator.GetBytes(2 * Chunk + 100));
        // Cut at a chunk boundary (the final chunk lost), inside a chunk, inside the last tag, inside the header.
        foreach (var length in new[] { Header + 2 * Record, Header + Record, Header + Record + 100, sealedBytes.Length - 1, Header + 16, 4 })
            await Assert.ThrowsAnyAsync<CryptographicException>(() => OpenAsync(sealedBytes[..length]));
    }

    [Fact]
    public async Task Content_sealed_for_another_owner_or_with_bytes_appended_does_not_open()
    {
        var sealedBytes = await SealAsync(RandomNumberGenerator.GetBytes(Chunk + 5));
        await Assert.ThrowsAnyAsync<CryptographicException>(() => OpenAsync(sealedBytes, Guid.NewGuid().ToByteArray()));
        await Assert.ThrowsAnyAsync<CryptographicException>(() => OpenAsync([.. sealedBytes, 0x00]));
    }

    private async Task<byte[]> SealAsync(byte[] plaintext, int writeSize = 8192)
    {
        using var output = new MemoryStream();
        await using (var sealing = _box.CreateSealingStream(output, Owner, leaveOpen: true))
            for (var offset = 0; offset < plaintext.Length; offset += writeSize)
                await sealing.WriteAsync(plaintext.AsMemory(offset, Math.Min(writeSize, plaintext.Length - offset)));
        return output.ToArray();
    }

    private async Task<byte[]> OpenAsync(byte[] sealedBytes, byte[]? owner = null)
    {
        var input = new MemoryStream(sealedBytes);
        Assert.Equal(ChunkedSecretBox.Version, input.ReadByte());
        await using var opening = _box.CreateOpeningStream(input, owner ?? Owner);
        using var output = new MemoryStream();
        await opening.CopyToAsync(output, 7000);
        return output.ToArray();
    }

    private byte[] Open(byte[] sealedBytes)
    {
        var input = new MemoryStream(sealedBytes);
        Assert.Equal(ChunkedSecretBox.Version, input.ReadByte());
        using var opening = _box.CreateOpeningStream(input, Owner);
        using var output = new MemoryStream();
        opening.CopyTo(output);
        return output.ToArray();
    }
}
