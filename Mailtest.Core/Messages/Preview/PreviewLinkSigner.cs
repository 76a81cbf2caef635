using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mailtest.Core.Security;

namespace Mailtest.Core.Messages.Preview;

/// <summary>
/// Signs the links a preview hands to the browser. The sandboxed preview frame has an opaque origin,
/// so the browser sends it no cookies: its document, its <c>cid:</c> images and its proxied images
/// are authorized by these signatures instead, minted only after AccessRules allowed the caller.
/// Image proxy URLs are signed over the URL and an expiry (so nobody can use the proxy for URLs that did
/// not come out of a rendered message, nor keep using one for long); message grants name the message,
/// its environment, the user who minted it and an expiry. A grant is a bearer link, so whoever serves
/// it also asks <see cref="Mailtest.Core.Tenancy.CurrentAccess"/> whether its minter may still read that environment:
/// a link stops working the moment its minter loses access. Both live only as long as a preview needs.
/// The key is derived from the installation's encryption key, so there is nothing new to configure.
/// </summary>
public sealed class PreviewLinkSigner
{
    public const string ImageProxyPath = "/inbox/image-proxy";
    private readonly byte[] _key;
    private readonly TimeProvider _time;

    public PreviewLinkSigner(InstallationSecrets secrets, TimeProvider time)
        : this(HKDF.DeriveKey(HashAlgorithmName.SHA256, secrets.EncryptionKey, 32, info: "mailtest/preview-links"u8.ToArray()), time) { }

    internal PreviewLinkSigner(byte[] key, TimeProvider time)
    {
        _key = key;
        _time = time;
    }

    /// <summary>
    /// How long a message grant (the preview document, its images, its downloads) and an image proxy
    /// URL stay valid: the preview loads its document and images at once; a reader who comes back
    /// later to download opens the message again, which mints fresh links.
    /// </summary>
    public static TimeSpan GrantLifetime { get; } = TimeSpan.FromMinutes(10);

    /// <summary>The proxy URL (relative to the site) for a remote image, valid for <see cref="GrantLifetime"/>.</summary>
    public string ImageProxyUrl(string remoteUrl)
    {
        var expires = _time.GetUtcNow().Add(GrantLifetime).ToUnixTimeSeconds();
        return string.Create(CultureInfo.InvariantCulture,
            $"{ImageProxyPath}?url={Uri.EscapeDataString(remoteUrl)}&exp={expires}&sig={Sign(ImagePayload(remoteUrl, expires))}");
    }

    /// <summary>The proxy URL's signature is right and it has not expired.</summary>
    public bool IsValidImageSignature(string remoteUrl, string? expires, string? signature) =>
        long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var expiresUnix)
        && Verify(ImagePayload(remoteUrl, expiresUnix), signature)
        && _time.GetUtcNow().ToUnixTimeSeconds() <= expiresUnix;

    /// <summary>A grant for <paramref name="userId"/> to read one message, valid for <see cref="GrantLifetime"/> while that user may read the environment.</summary>
    public MessageGrant Grant(Guid messageId, Guid environmentId, Guid userId)
    {
        var expires = _time.GetUtcNow().Add(GrantLifetime).ToUnixTimeSeconds();
        return new MessageGrant(messageId, environmentId, userId, expires, Sign(GrantPayload(messageId, environmentId, userId, expires)));
    }

    /// <summary>
    /// The grant carried by a link, if its signature is right and it has not expired. The caller still
    /// asks CurrentAccess whether <see cref="MessageGrant.UserId"/> may read <see cref="MessageGrant.EnvironmentId"/> now.
    /// </summary>
    public MessageGrant? ReadGrant(Guid messageId, string? token)
    {
        // token = {environmentId:N}.{userId:N}.{expiresUnix}.{signature}
        var parts = token?.Split('.');
        if (parts is not { Length: 4 }
            || !Guid.TryParseExact(parts[0], "N", out var environmentId)
            || !Guid.TryParseExact(parts[1], "N", out var userId)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || !Verify(GrantPayload(messageId, environmentId, userId, expires), parts[3])
            || _time.GetUtcNow().ToUnixTimeSeconds() > expires)
            return null;
        return new MessageGrant(messageId, environmentId, userId, expires, parts[3]);
    }

    private static string ImagePayload(string remoteUrl, long expires) =>
        string.Create(CultureInfo.InvariantCulture, $"image\n{expires}\n{remoteUrl}");

    private static string GrantPayload(Guid messageId, Guid environmentId, Guid userId, long expires) =>
        string.Create(CultureInfo.InvariantCulture, $"message\n{messageId:N}\n{environmentId:N}\n{userId:N}\n{expires}");

    private string Sign(string payload) => Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(payload)));

    private bool Verify(string payload, string? signature)
    {
        if (string.IsNullOrEmpty(signature)) return false;
        var expected = Encoding.ASCII.GetBytes(Sign(payload));
        var given = Encoding.ASCII.GetBytes(signature);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }
}

/// <summary>Permission, carried in a link, for <see cref="UserId"/> to read one message of one environment until <see cref="ExpiresUnix"/>.</summary>
public sealed record MessageGrant(Guid MessageId, Guid EnvironmentId, Guid UserId, long ExpiresUnix, string Signature)
{
    public string Token => $"{EnvironmentId:N}.{UserId:N}.{ExpiresUnix}.{Signature}";
}
