using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mailtest.Core.Security;

namespace Mailtest.Core.Exports;

/// <summary>
/// Signs export download links: the export id and an expiry, HMAC-SHA256 with a key derived from the
/// installation's encryption key. A valid signature is necessary but not sufficient: the download
/// also requires the signed-in requester (see <see cref="MessageExports.OpenDownloadAsync"/>).
/// </summary>
public sealed class ExportLinkSigner(InstallationSecrets secrets, TimeProvider clock)
{
    private readonly byte[] _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, secrets.EncryptionKey, 32, info: "mailtest/export-links"u8.ToArray());

    public static string PathOf(Guid exportId) => $"/exports/{exportId:N}/download";

    /// <summary>The site-relative link, valid until <paramref name="expiresUtc"/>.</summary>
    public string Link(Guid exportId, DateTime expiresUtc)
    {
        var expires = new DateTimeOffset(expiresUtc, TimeSpan.Zero).ToUnixTimeSeconds();
        return $"{PathOf(exportId)}?expires={expires}&sig={Sign(exportId, expires)}";
    }

    public bool IsValid(Guid exportId, string? expires, string? signature)
    {
        if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var expiresUnix) || signature is null)
            return false;
        if (clock.GetUtcNow().ToUnixTimeSeconds() >= expiresUnix) return false;
        var expected = Encoding.ASCII.GetBytes(Sign(exportId, expiresUnix));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature));
    }

    private string Sign(Guid exportId, long expires) =>
        System.Buffers.Text.Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"export\n{exportId:N}\n{expires}")));
}
