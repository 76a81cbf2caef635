namespace Mailtest.Core.Security;

/// <summary>
/// Server secrets, bound from <c>Mailtest:Security</c>. Each is 32 bytes, base64. When a value is
/// not configured it is generated once into the data directory, readable by the owner only.
/// </summary>
public sealed class SecurityOptions
{
    public const string Section = "Mailtest:Security";

    /// <summary>AES-256-GCM key for stored messages and other secrets at rest (Odoo connection strings).</summary>
    public string? EncryptionKey { get; set; }
    /// <summary>HMAC-SHA256 key for SMTP passwords and API tokens.</summary>
    public string? CredentialHashKey { get; set; }
}
