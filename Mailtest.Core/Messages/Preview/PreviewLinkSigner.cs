using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mailtest.Core.Security;

namespace Mailtest.Core.Messages.Preview;

/// <summary>
/// Signs the links a preview hands to the browser. The sandboxed preview frame has an opaque origin,
/// so the browser sends it no cookies: its document, its <c>cid:</c> images and its proxied images
/// are authorized by these signatures instead, minted only after AccessRules allowed the caller.
/// Image proxy URLs are signed over the URL alone (so nobody can use the proxy for URLs that did not
/// come out of a rendered message); message grants name the message, its environment and an expiry.
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

    /// <summary>How long a message grant (the preview document, its parts, its downloads) stays valid.</summary>
    public static TimeSpan GrantLifetime { get; } = TimeSpan.FromHours(1);

    /// <summary>The proxy URL (relative to the site) for a remote image.</summary>
    public string ImageProxyUrl(string remoteUrl) =>
        $"{ImageProxyPath}?url={Uri.EscapeDataString(remoteUrl)}&sig={Sign("image\n" + remoteUrl)}";

    public bool IsValidImageSignature(string remoteUrl, string? signature) => Verify("image\n" + remoteUrl, signature);

    /// <summary>A grant to read one message, valid for <see cref="GrantLifetime"/>.</summary>
    public MessageGrant Grant(Guid messageId, Guid environmentId)
    {
        var expires = _time.GetUtcNow().Add(GrantLifetime).ToUnixTimeSeconds();
        return new MessageGrant(messageId, environmentId, expires, Sign(GrantPayload(messageId, environmentId, expires)));
    }

    /// <summary>The grant carried by a link, if its signature is right and it has not expired.</summary>
    public MessageGrant? ReadGrant(Guid messageId, string? token)
    {
        // token = {environmentId:N}.{expiresUnix}.{signature}
        var parts = token?.Split('.');
        if (parts is not { Length: 3 }
            || !Guid.TryParseExact(parts[0], "N", out var environmentId)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || !Verify(GrantPayload(messageId, environmentId, expires), parts[2])
            || _time.GetUtcNow().ToUnixTimeSeconds() > expires)
            return null;
        return new MessageGrant(messageId, environmentId, expires, parts[2]);
    }

    private static string GrantPayload(Guid messageId, Guid environmentId, long expires) =>
        string.Create(CultureInfo.InvariantCulture, $"message\n{messageId:N}\n{environmentId:N}\n{expires}");

    private string Sign(string payload) => Base64Url(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(payload)));

    private bool Verify(string payload, string? signature)
    {
        if (string.IsNullOrEmpty(signature)) return false;
        var expected = Encoding.ASCII.GetBytes(Sign(payload));
        var given = Encoding.ASCII.GetBytes(signature);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Permission, carried in a link, to read one message of one environment until <see cref="ExpiresUnix"/>.</summary>
public sealed record MessageGrant(Guid MessageId, Guid EnvironmentId, long ExpiresUnix, string Signature)
{
    public string Token => $"{EnvironmentId:N}.{ExpiresUnix}.{Signature}";
}
