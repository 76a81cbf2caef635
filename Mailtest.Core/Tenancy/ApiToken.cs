using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Mailtest.Core.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Mailtest.Core.Tenancy;

/// <summary>What an environment API token may do with that environment's mail.</summary>
public enum ApiTokenScope
{
    /// <summary><c>read</c>: list, search, read, wait for and stream messages.</summary>
    Read = 0,
    /// <summary><c>read-write</c>: also delete, mark read/unread and add messages.</summary>
    ReadWrite = 1,
}

/// <summary>
/// An API token. Only an HMAC-SHA256 of it is kept; the token is shown once. A user token
/// (<see cref="UserId"/> set) acts with its user's permissions; an environment token
/// (<see cref="EnvironmentId"/> set) reaches that one environment's mail with its <see cref="Scope"/>
/// and nothing else, which is what a CI job should hold.
/// </summary>
public sealed class ApiToken
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid? UserId { get; set; }
    public Guid? EnvironmentId { get; set; }
    public ApiTokenScope Scope { get; set; }
    public required string Name { get; set; }
    /// <summary>The first characters of the token, so people can tell tokens apart.</summary>
    public required string Prefix { get; set; }
    public required byte[] TokenHash { get; set; }
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;
    /// <summary>Who created an environment token (email, or <c>admin-cli</c>).</summary>
    public string? CreatedBy { get; set; }
    public DateTime? LastUsedUtc { get; set; }
    public DateTime? RevokedUtc { get; set; }
}

internal sealed class ApiTokenConfiguration : IEntityTypeConfiguration<ApiToken>
{
    public void Configure(EntityTypeBuilder<ApiToken> b)
    {
        b.Property(t => t.Name).HasMaxLength(100);
        b.Property(t => t.Prefix).HasMaxLength(16);
        b.Property(t => t.CreatedBy).HasMaxLength(320);
        b.HasIndex(t => t.TokenHash).IsUnique();
        b.HasIndex(t => t.UserId);
        b.HasIndex(t => t.EnvironmentId);
        b.HasOne<UserAccount>().WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<ProjectEnvironment>().WithMany().HasForeignKey(t => t.EnvironmentId).OnDelete(DeleteBehavior.Cascade);
    }
}

public sealed record CreatedApiToken(Guid Id, string Token);

/// <summary>An environment token as the Mailtest tab lists it (never the token itself).</summary>
public sealed record EnvironmentTokenItem(Guid Id, string Name, ApiTokenScope Scope, string Prefix, DateTime CreatedUtc, string? CreatedBy, DateTime? LastUsedUtc);

/// <summary>Who a presented token speaks for: a user, or one environment with a scope.</summary>
public sealed record ApiTokenHolder(UserAccount? User, EnvironmentTokenGrant? Environment);

/// <summary>Creates, lists, revokes and checks API tokens (<c>mt_</c> + 256 random bits).</summary>
public sealed class ApiTokens(IDbContextFactory<MailtestDbContext> dbFactory, InstallationSecrets secrets, AuditLog audit, AccessRules access, LiveMailAccess live, TimeProvider clock)
{
    private const string TokenPrefix = "mt_";

    /// <summary>Last use is written at most this often per token, so a busy CI job does not turn every request into a write.</summary>
    private static readonly TimeSpan LastUseResolution = TimeSpan.FromSeconds(30);

    /// <summary>Creates a token for the user (the admin command line's <c>token create</c> calls this) and returns it once.</summary>
    public async Task<CreatedApiToken> CreateAsync(Guid userId, string name = "API token", string? remoteAddress = null, CancellationToken cancellationToken = default)
    {
        name = CheckName(name);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == userId, cancellationToken)
            ?? throw new TenancyException($"There is no user {userId}.");
        var (token, entity) = NewToken(name);
        entity.UserId = userId;
        db.ApiTokens.Add(entity);
        await db.SaveChangesAsync(cancellationToken);
        await audit.RecordAsync(user.Id, user.Email, AuditActions.ApiTokenCreated, detail: $"{entity.Name} ({entity.Prefix}…)", remoteAddress: remoteAddress, cancellationToken: cancellationToken);
        return new CreatedApiToken(entity.Id, token);
    }

    /// <summary>
    /// Creates an environment token (Mailtest tab, API) for a caller who manages the environment;
    /// shown once, audited.
    /// </summary>
    public async Task<CreatedApiToken> CreateForEnvironmentAsync(Caller caller, Guid environmentId, ApiTokenScope scope, string name, CancellationToken cancellationToken = default)
    {
        var environment = await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestManage, cancellationToken);
        return await CreateForEnvironmentAsync(environment, scope, name, caller.UserId, caller.Email, caller.RemoteAddress, cancellationToken);
    }

    /// <summary>Creates an environment token from the admin command line (the operator of the installation).</summary>
    public async Task<CreatedApiToken> CreateForEnvironmentByOperatorAsync(Guid environmentId, ApiTokenScope scope, string name, string actor, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var environment = await db.Environments.Include(e => e.Project).AsNoTracking().SingleOrDefaultAsync(e => e.Id == environmentId, cancellationToken)
            ?? throw new NotFoundException($"There is no environment {environmentId}.");
        return await CreateForEnvironmentAsync(environment, scope, name, null, actor, null, cancellationToken);
    }

    private async Task<CreatedApiToken> CreateForEnvironmentAsync(ProjectEnvironment environment, ApiTokenScope scope, string name,
        Guid? actorUserId, string actor, string? remoteAddress, CancellationToken cancellationToken)
    {
        name = CheckName(name);
        if (!Enum.IsDefined(scope)) throw new TenancyException("The scope must be read or read-write.");
        var (token, entity) = NewToken(name);
        entity.EnvironmentId = environment.Id;
        entity.Scope = scope;
        entity.CreatedBy = actor;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            db.ApiTokens.Add(entity);
            await db.SaveChangesAsync(cancellationToken);
        }
        await audit.RecordAsync(actorUserId, actor, AuditActions.EnvironmentTokenCreated, environment.Project?.OrganizationId, environment.Id,
            $"{entity.Name} ({entity.Prefix}…, {ScopeName(scope)})", remoteAddress, cancellationToken);
        return new CreatedApiToken(entity.Id, token);
    }

    public async Task<IReadOnlyList<ApiToken>> ListAsync(Guid userId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.ApiTokens.AsNoTracking().Where(t => t.UserId == userId && t.RevokedUtc == null)
            .OrderByDescending(t => t.CreatedUtc).ToListAsync(cancellationToken);
    }

    /// <summary>The environment's live tokens, for anyone who may read its mail.</summary>
    public async Task<IReadOnlyList<EnvironmentTokenItem>> ListForEnvironmentAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestView, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.ApiTokens.AsNoTracking().Where(t => t.EnvironmentId == environmentId && t.RevokedUtc == null)
            .OrderByDescending(t => t.CreatedUtc)
            .Select(t => new EnvironmentTokenItem(t.Id, t.Name, t.Scope, t.Prefix, t.CreatedUtc, t.CreatedBy, t.LastUsedUtc))
            .ToListAsync(cancellationToken);
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

    /// <summary>Revokes an environment token (manage permission); it stops working on its next request or event.</summary>
    public async Task RevokeForEnvironmentAsync(Caller caller, Guid environmentId, Guid tokenId, CancellationToken cancellationToken = default)
    {
        var environment = await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestManage, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.ApiTokens.SingleOrDefaultAsync(t => t.Id == tokenId && t.EnvironmentId == environmentId && t.RevokedUtc == null, cancellationToken)
            ?? throw new NotFoundException("There is no such API token on this environment.");
        token.RevokedUtc = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        live.TokenRevoked(token.Id);
        await audit.RecordAsync(caller, AuditActions.EnvironmentTokenRevoked, environment.Project?.OrganizationId, environmentId,
            $"{token.Name} ({token.Prefix}…, {ScopeName(token.Scope)})", cancellationToken);
    }

    /// <summary>The token's owner, or null when the token is unknown or revoked, its owner deactivated, or it is an environment token.</summary>
    public async Task<UserAccount?> AuthenticateAsync(string token, CancellationToken cancellationToken = default) =>
        (await ResolveAsync(token, cancellationToken))?.User;

    /// <summary>Who the token speaks for, or null when it is unknown or revoked (or its user deactivated). Records the last use.</summary>
    public async Task<ApiTokenHolder?> ResolveAsync(string token, CancellationToken cancellationToken = default)
    {
        if (!token.StartsWith(TokenPrefix, StringComparison.Ordinal) || token.Length > 100) return null;
        var hash = Hash(token);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var found = await db.ApiTokens.AsNoTracking().Where(t => t.TokenHash == hash && t.RevokedUtc == null)
            .Select(t => new { t.Id, t.UserId, t.EnvironmentId, t.Scope, t.Name, t.Prefix, t.LastUsedUtc }).SingleOrDefaultAsync(cancellationToken);
        if (found is null) return null;
        var now = clock.GetUtcNow().UtcDateTime;
        if (found.LastUsedUtc is not { } last || now - last >= LastUseResolution)
            await db.ApiTokens.Where(t => t.Id == found.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedUtc, now), cancellationToken);
        if (found.EnvironmentId is { } environmentId)
            return new ApiTokenHolder(null, new EnvironmentTokenGrant(found.Id, environmentId, found.Scope, $"{found.Name} ({found.Prefix}…)"));
        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == found.UserId && u.DeactivatedUtc == null, cancellationToken);
        return user is null ? null : new ApiTokenHolder(user, null);
    }

    /// <summary><c>read</c> or <c>read-write</c>, as the API and the command line spell it.</summary>
    public static string ScopeName(ApiTokenScope scope) => scope == ApiTokenScope.ReadWrite ? "read-write" : "read";

    public static ApiTokenScope? ParseScope(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "read" => ApiTokenScope.Read,
        "read-write" or "readwrite" => ApiTokenScope.ReadWrite,
        _ => null,
    };

    private static string CheckName(string name)
    {
        name = name.Trim();
        return name.Length is 0 or > 100 ? throw new TenancyException("The token name must be between 1 and 100 characters.") : name;
    }

    private (string Token, ApiToken Entity) NewToken(string name)
    {
        var token = TokenPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (token, new ApiToken { Name = name, Prefix = token[..10], TokenHash = Hash(token), CreatedUtc = clock.GetUtcNow().UtcDateTime });
    }

    private byte[] Hash(string token) => HMACSHA256.HashData(secrets.CredentialHashKey, Encoding.UTF8.GetBytes(token));
}
