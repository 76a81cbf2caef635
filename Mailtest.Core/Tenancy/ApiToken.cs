using System.Security.Cryptography;
using System.Text;
using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Mailtest.Core.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Mailtest.Core.Tenancy;

/// <summary>A user's API token. Only an HMAC-SHA256 of it is kept; the token is shown once.</summary>
public sealed class ApiToken
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid UserId { get; set; }
    public required string Name { get; set; }
    /// <summary>The first characters of the token, so the user can tell tokens apart.</summary>
    public required string Prefix { get; set; }
    public required byte[] TokenHash { get; set; }
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;
    public DateTime? LastUsedUtc { get; set; }
    public DateTime? RevokedUtc { get; set; }
}

internal sealed class ApiTokenConfiguration : IEntityTypeConfiguration<ApiToken>
{
    public void Configure(EntityTypeBuilder<ApiToken> b)
    {
        b.Property(t => t.Name).HasMaxLength(100);
        b.Property(t => t.Prefix).HasMaxLength(16);
        b.HasIndex(t => t.TokenHash).IsUnique();
        b.HasIndex(t => t.UserId);
        b.HasOne<UserAccount>().WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}

public sealed record CreatedApiToken(Guid Id, string Token);

/// <summary>Creates, lists, revokes and checks API tokens (<c>mt_</c> + 256 random bits).</summary>
public sealed class ApiTokens(IDbContextFactory<MailtestDbContext> dbFactory, InstallationSecrets secrets, AuditLog audit, TimeProvider clock)
{
    private const string TokenPrefix = "mt_";

    /// <summary>Creates a token for the user (the admin command line's <c>token create</c> calls this) and returns it once.</summary>
    public async Task<CreatedApiToken> CreateAsync(Guid userId, string name = "API token", string? remoteAddress = null, CancellationToken cancellationToken = default)
    {
        name = name.Trim();
        if (name.Length is 0 or > 100) throw new TenancyException("The token name must be between 1 and 100 characters.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == userId, cancellationToken)
            ?? throw new TenancyException($"There is no user {userId}.");
        var token = TokenPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var entity = new ApiToken { UserId = userId, Name = name, Prefix = token[..10], TokenHash = Hash(token), CreatedUtc = clock.GetUtcNow().UtcDateTime };
        db.ApiTokens.Add(entity);
        await db.SaveChangesAsync(cancellationToken);
        await audit.RecordAsync(user.Id, user.Email, AuditActions.ApiTokenCreated, detail: $"{entity.Name} ({entity.Prefix}…)", remoteAddress: remoteAddress, cancellationToken: cancellationToken);
        return new CreatedApiToken(entity.Id, token);
    }

    public async Task<IReadOnlyList<ApiToken>> ListAsync(Guid userId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.ApiTokens.AsNoTracking().Where(t => t.UserId == userId && t.RevokedUtc == null)
            .OrderByDescending(t => t.CreatedUtc).ToListAsync(cancellationToken);
    }

    /// <summary>Revokes one of the user's own tokens; another user's token looks absent.</summary>
    public async Task<bool> RevokeAsync(Guid userId, Guid tokenId, string? remoteAddress = null, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.ApiTokens.SingleOrDefaultAsync(t => t.Id == tokenId && t.UserId == userId && t.RevokedUtc == null, cancellationToken);
        if (token is null) return false;
        token.RevokedUtc = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        var email = await db.Users.Where(u => u.Id == userId).Select(u => u.Email).SingleAsync(cancellationToken);
        await audit.RecordAsync(userId, email, AuditActions.ApiTokenRevoked, detail: $"{token.Name} ({token.Prefix}…)", remoteAddress: remoteAddress, cancellationToken: cancellationToken);
        return true;
    }

    /// <summary>The token's owner, or null when the token is unknown or revoked, or its owner deactivated.</summary>
    public async Task<UserAccount?> AuthenticateAsync(string token, CancellationToken cancellationToken = default)
    {
        if (!token.StartsWith(TokenPrefix, StringComparison.Ordinal) || token.Length > 100) return null;
        var hash = Hash(token);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var found = await db.ApiTokens.Where(t => t.TokenHash == hash && t.RevokedUtc == null)
            .Select(t => new { t.Id, t.UserId }).SingleOrDefaultAsync(cancellationToken);
        if (found is null) return null;
        var now = clock.GetUtcNow().UtcDateTime;
        await db.ApiTokens.Where(t => t.Id == found.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedUtc, now), cancellationToken);
        return await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == found.UserId && u.DeactivatedUtc == null, cancellationToken);
    }

    private byte[] Hash(string token) => HMACSHA256.HashData(secrets.CredentialHashKey, Encoding.UTF8.GetBytes(token));
}
