using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Mailtest.Core.Data;
using Mailtest.Core.Security;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Capture;

/// <summary>A credential as shown once to the user; the password is never stored.</summary>
public sealed record IssuedCredential(string Username, string Password);

/// <summary>
/// Issues an environment's SMTP credential: username <c>org-xxxxxx-env-xxxxxx</c> and a 256-bit
/// random password, of which only an HMAC-SHA256 under the server's key is kept. A keyed hash of a
/// random secret is as strong as a slow hash and keeps AUTH cheap (thousands per second).
/// </summary>
public sealed class CredentialIssuer(IDbContextFactory<MailtestDbContext> dbFactory, InstallationSecrets secrets, SmtpCredentialCache cache)
{
    public static string UsernameFor(string organizationSlug, string environmentSlug) => $"org-{organizationSlug}-env-{environmentSlug}";

    public static string NewPassword() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public byte[] Hash(string password) => HMACSHA256.HashData(secrets.CredentialHashKey, Encoding.UTF8.GetBytes(password));

    public bool Matches(string password, byte[] storedHash) => CryptographicOperations.FixedTimeEquals(Hash(password), storedHash);

    /// <summary>Generates a new password for the environment and makes it the only valid one.</summary>
    public async Task<IssuedCredential> IssueAsync(Guid environmentId, CancellationToken cancellationToken = default)
    {
        var password = NewPassword();
        var username = await StoreAsync(environmentId, password, cancellationToken);
        return new IssuedCredential(username, password);
    }

    /// <summary>Makes <paramref name="password"/> the environment's only valid password (revoking the previous one) and returns the username.</summary>
    public async Task<string> StoreAsync(Guid environmentId, string password, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var slugs = await db.Environments.Where(e => e.Id == environmentId)
            .Select(e => new { Environment = e.Slug, Organization = e.Project!.Organization!.Slug })
            .SingleOrDefaultAsync(cancellationToken)
            ?? throw new InvalidOperationException($"There is no environment {environmentId}.");
        var username = UsernameFor(slugs.Organization, slugs.Environment);
        var now = DateTime.UtcNow;
        await db.SmtpCredentials.Where(c => c.EnvironmentId == environmentId && c.RevokedUtc == null)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.RevokedUtc, now), cancellationToken);
        db.SmtpCredentials.Add(new SmtpCredential { EnvironmentId = environmentId, Username = username, PasswordHash = Hash(password) });
        await db.SaveChangesAsync(cancellationToken);
        cache.Invalidate(environmentId);
        return username;
    }

    /// <summary>Revokes every credential of the environment: its AUTH fails from now on.</summary>
    public async Task RevokeAsync(Guid environmentId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = DateTime.UtcNow;
        await db.SmtpCredentials.Where(c => c.EnvironmentId == environmentId && c.RevokedUtc == null)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.RevokedUtc, now), cancellationToken);
        cache.Invalidate(environmentId);
    }
}
