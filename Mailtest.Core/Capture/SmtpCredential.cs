namespace Mailtest.Core.Capture;

/// <summary>An environment's SMTP login. Only a keyed hash of the password is kept.</summary>
public sealed class SmtpCredential
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid EnvironmentId { get; set; }
    /// <summary><c>org-xxxxxx-env-xxxxxx</c>; unique among credentials that are not revoked.</summary>
    public required string Username { get; set; }
    /// <summary>HMAC-SHA256 of the password under the server's credential key.</summary>
    public required byte[] PasswordHash { get; set; }
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;
    public DateTime? RevokedUtc { get; set; }
}
