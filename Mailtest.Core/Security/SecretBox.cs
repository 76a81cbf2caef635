using System.Security.Cryptography;

namespace Mailtest.Core.Security;

/// <summary>
/// AES-256-GCM sealing for data at rest. Layout: version byte, 12-byte nonce, 16-byte tag, ciphertext.
/// The optional associated data binds a sealed value to its owner (a message id, an environment id)
/// so a value copied onto another row does not open.
/// </summary>
public sealed class SecretBox(InstallationSecrets secrets)
{
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int HeaderSize = 1 + NonceSize + TagSize;

    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData = default)
    {
        var output = new byte[HeaderSize + plaintext.Length];
        output[0] = Version;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(secrets.EncryptionKey, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(HeaderSize), output.AsSpan(1 + NonceSize, TagSize), associatedData);
        return output;
    }

    /// <exception cref="CryptographicException">The value was altered, or sealed under another key or owner.</exception>
    public byte[] Open(ReadOnlySpan<byte> sealedValue, ReadOnlySpan<byte> associatedData = default)
    {
        if (sealedValue.Length < HeaderSize || sealedValue[0] != Version)
            throw new CryptographicException("Not a sealed value of a known version.");
        var plaintext = new byte[sealedValue.Length - HeaderSize];
        using var aes = new AesGcm(secrets.EncryptionKey, TagSize);
        aes.Decrypt(sealedValue.Slice(1, NonceSize), sealedValue[HeaderSize..], sealedValue.Slice(1 + NonceSize, TagSize), plaintext, associatedData);
        return plaintext;
    }
}
