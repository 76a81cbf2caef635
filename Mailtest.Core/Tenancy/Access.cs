using Mailtest.Core.Audit;
using System.Net;
using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Mailtest.Core.Tenancy;

/// <summary>Per-project permissions. Manage implies view.</summary>
public enum ProjectPermission
{
    /// <summary><c>project.mailtest.view</c>: read the captured mail of the project's environments.</summary>
    MailtestView = 0,
    /// <summary><c>project.mailtest.manage</c>: enable, rotate, disable Mailtest on the project's environments.</summary>
    MailtestManage = 1,
}

/// <summary>A member's permission on one project (owners and admins hold every permission without grants).</summary>
public sealed class ProjectGrant
{
    public Guid ProjectId { get; set; }
    public Guid UserId { get; set; }
    public ProjectPermission Permission { get; set; }
}

internal sealed class ProjectGrantConfiguration : IEntityTypeConfiguration<ProjectGrant>
{
    public void Configure(EntityTypeBuilder<ProjectGrant> b)
    {
        b.HasKey(g => new { g.ProjectId, g.UserId, g.Permission });
        b.HasOne<Project>().WithMany().HasForeignKey(g => g.ProjectId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<UserAccount>().WithMany().HasForeignKey(g => g.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}

/// <summary>Who is asking: a signed-in user, a user token's owner, an environment API token, or the installation's operator.</summary>
public sealed record Caller(Guid UserId, string Email, bool IsPlatformAdmin, string? RemoteAddress = null)
{
    /// <summary>Set when the caller is an environment API token rather than a user (then <see cref="UserId"/> is empty).</summary>
    public EnvironmentTokenGrant? EnvironmentToken { get; init; }

    /// <summary>The operator at the admin command line (who holds the database anyway): may manage every environment.
    /// Never made from a request: only the command line creates it.</summary>
    public bool IsOperator { get; init; }

    /// <summary>The user the audit log names, when the caller is a user (not a token, not the operator).</summary>
    public Guid? AuditedUserId => EnvironmentToken is null && !IsOperator ? UserId : null;

    public static Caller ForEnvironmentToken(EnvironmentTokenGrant grant, string? remoteAddress = null) =>
        new(Guid.Empty, "API token " + grant.Label, false, remoteAddress) { EnvironmentToken = grant };

    /// <param name="actor">The name the audit log records (the command line's <c>admin-cli</c>).</param>
    public static Caller Operator(string actor) => new(Guid.Empty, actor, false) { IsOperator = true };
}

/// <summary>An environment the caller may view, and whether they may also manage Mailtest on it.</summary>
public sealed record EnvironmentAccess(ProjectEnvironment Environment, bool CanManage);

/// <summary>An environment API token: one environment's mail, with a scope.</summary>
/// <param name="Label">Name and prefix, for the audit log (never the token).</param>
public sealed record EnvironmentTokenGrant(Guid TokenId, Guid EnvironmentId, ApiTokenScope Scope, string Label);

/// <summary>What a caller wants to do with an environment's captured mail.</summary>
public enum MailAccess
{
    /// <summary>List, search, read, wait for, stream.</summary>
    Read = 0,
    /// <summary>Delete, mark read/unread, add messages.</summary>
    Change = 1,
}

/// <summary>The caller may not do this (HTTP 403); the message says why in words a person can act on.</summary>
public sealed class AccessDeniedException(string message) : RefusalException(HttpStatusCode.Forbidden, message);

/// <summary>There is no such thing for this caller (HTTP 404): another organization's objects look absent.</summary>
public sealed class NotFoundException(string message) : RefusalException(HttpStatusCode.NotFound, message);

/// <summary>
/// The one place that answers "may this caller see or change this environment's mail?". The UI,
/// the API and the inbox all ask here. Owners and admins of an organization hold every permission
/// on its projects; members hold what they were granted per project. Platform administrators see
/// organizations in the admin pages, but reading their mail is a separate, audited break-glass.
/// </summary>
public sealed class AccessRules(IDbContextFactory<MailtestDbContext> dbFactory, AuditLog audit)
{
    /// <summary>
    /// Break-glass: a platform administrator reads an organization's mail for incident response.
    /// Refused to everyone else; every use is written to the audit log (who, when, why, from where)
    /// before the environments are handed out.
    /// </summary>
    public async Task<IReadOnlyList<ProjectEnvironment>> BreakGlassEnvironmentsAsync(Caller caller, Guid organizationId, string reason, CancellationToken cancellationToken = default)
    {
        if (!caller.IsPlatformAdmin)
            throw new AccessDeniedException("Only platform administrators can open an organization's mail, and only for incident response.");
        reason = reason.Trim();
        if (reason.Length is < 5 or > 500)
            throw new AccessDeniedException("Say why you need to read this organization's mail (5 to 500 characters); it is written to the audit log.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Organizations.AnyAsync(o => o.Id == organizationId, cancellationToken))
            throw new NotFoundException("There is no such organization.");
        await audit.RecordAsync(caller, AuditActions.BreakGlassMailAccess, organizationId, detail: reason, cancellationToken: cancellationToken);
        return await db.Environments.Include(e => e.Project!).ThenInclude(p => p.Organization).AsNoTracking()
            .Where(e => e.Project!.OrganizationId == organizationId).OrderBy(e => e.Name).ToListAsync(cancellationToken);
    }

    /// <summary>The environments whose mail the caller may read.</summary>
    public async Task<IReadOnlyList<ProjectEnvironment>> ViewableEnvironmentsAsync(Caller caller, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (caller.EnvironmentToken is { } token)
            return await TokenEnvironment(db, token).Include(e => e.Project!).ThenInclude(p => p.Organization).AsNoTracking().ToListAsync(cancellationToken);
        return await VisibleEnvironments(db, caller.UserId, ProjectPermission.MailtestView)
            .Include(e => e.Project!).ThenInclude(p => p.Organization)
            .AsNoTracking()
            .OrderBy(e => e.Project!.Organization!.Name).ThenBy(e => e.Project!.Name).ThenBy(e => e.Name)
            .ToListAsync(cancellationToken);
    }

    /// <summary>The ids of the environments whose mail the user may read (what <see cref="CurrentAccess"/> caches).</summary>
    public async Task<IReadOnlySet<Guid>> ViewableEnvironmentIdsAsync(Guid userId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return (await VisibleEnvironments(db, userId, ProjectPermission.MailtestView).Select(e => e.Id).ToListAsync(cancellationToken)).ToHashSet();
    }

    /// <summary>
    /// The environment, with its project and organization, if the caller holds the permission on it.
    /// Throws <see cref="NotFoundException"/> when the caller cannot see it at all (another organization),
    /// <see cref="AccessDeniedException"/> when they can see it but lack the permission.
    /// </summary>
    public async Task<ProjectEnvironment> RequireAsync(Caller caller, Guid environmentId, ProjectPermission permission, CancellationToken cancellationToken = default)
    {
        if (permission == ProjectPermission.MailtestManage && caller.EnvironmentToken is not null)
            throw new AccessDeniedException(EnvironmentTokenCannotManage);
        var found = await ResolveAsync(caller, environmentId, cancellationToken);
        if (permission == ProjectPermission.MailtestManage && !found.CanManage)
            throw new AccessDeniedException(ManagePermissionMissing);
        return found.Environment;
    }

    /// <summary>
    /// The environment the caller may view (else <see cref="NotFoundException"/>, or for a token of
    /// another environment <see cref="AccessDeniedException"/>) and whether they may also manage it:
    /// for screens that show what the caller may do, without trying and catching a refusal.
    /// </summary>
    public async Task<EnvironmentAccess> ResolveAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (caller.EnvironmentToken is { } token)
            return new(await RequireTokenAsync(db, token, environmentId, cancellationToken), CanManage: false);
        if (caller.IsOperator)
            return new(await db.Environments.Include(e => e.Project!).ThenInclude(p => p.Organization).AsNoTracking()
                .SingleOrDefaultAsync(e => e.Id == environmentId, cancellationToken)
                ?? throw new NotFoundException($"There is no environment {environmentId}."), CanManage: true);
        var environment = await VisibleEnvironments(db, caller.UserId, ProjectPermission.MailtestView)
            .Include(e => e.Project!).ThenInclude(p => p.Organization)
            .AsNoTracking()
            .SingleOrDefaultAsync(e => e.Id == environmentId, cancellationToken)
            ?? throw new NotFoundException("There is no such environment, or you are not a member of its organization.");
        var canManage = await VisibleEnvironments(db, caller.UserId, ProjectPermission.MailtestManage).AnyAsync(e => e.Id == environmentId, cancellationToken);
        return new(environment, canManage);
    }

    /// <summary>
    /// May the caller read (or change) this environment's captured mail? Members with
    /// <c>project.mailtest.view</c> may do both, as in the inbox; an environment token may read its own
    /// environment only, and change it only with the read-write scope. Checked on every request and on
    /// every live event, so a revoked token or member stops at once.
    /// </summary>
    public async Task<ProjectEnvironment> RequireMailAsync(Caller caller, Guid environmentId, MailAccess access, CancellationToken cancellationToken = default)
    {
        if (access == MailAccess.Change && caller.EnvironmentToken is { Scope: ApiTokenScope.Read } token && token.EnvironmentId == environmentId)
            throw new AccessDeniedException(ReadOnlyToken);
        return await RequireAsync(caller, environmentId, ProjectPermission.MailtestView, cancellationToken);
    }

    public const string ManagePermissionMissing = "You need the project.mailtest.manage permission on this project; ask an owner or admin of the organization.";
    public const string ReadOnlyToken = "This API token is read-only: deleting, marking, tagging or adding messages needs a read-write token.";
    public const string EnvironmentTokenCannotManage =
        "An environment API token reaches its environment's mail only; enabling, rotating or configuring Mailtest needs a member's token.";

    private static async Task<ProjectEnvironment> RequireTokenAsync(MailtestDbContext db, EnvironmentTokenGrant token, Guid environmentId, CancellationToken cancellationToken)
    {
        if (environmentId != token.EnvironmentId)
            throw new AccessDeniedException("This API token belongs to another environment; create a token on this environment's Mailtest tab.");
        return await TokenEnvironment(db, token).Include(e => e.Project!).ThenInclude(p => p.Organization).AsNoTracking().SingleOrDefaultAsync(cancellationToken)
            ?? throw new AccessDeniedException("This API token has been revoked.");
    }

    /// <summary>The token's environment while the token is not revoked.</summary>
    private static IQueryable<ProjectEnvironment> TokenEnvironment(MailtestDbContext db, EnvironmentTokenGrant token) =>
        db.Environments.Where(e => e.Id == token.EnvironmentId &&
            db.ApiTokens.Any(t => t.Id == token.TokenId && t.EnvironmentId == e.Id && t.RevokedUtc == null));

    private static IQueryable<ProjectEnvironment> VisibleEnvironments(MailtestDbContext db, Guid userId, ProjectPermission permission)
    {
        var viaRole = db.Memberships.Where(m => m.UserId == userId && m.Role != OrganizationRole.Member).Select(m => m.OrganizationId);
        var member = db.Memberships.Where(m => m.UserId == userId).Select(m => m.OrganizationId);
        var granted = db.ProjectGrants.Where(g => g.UserId == userId && (g.Permission == permission || g.Permission == ProjectPermission.MailtestManage)).Select(g => g.ProjectId);
        // A deactivated account holds nothing, whatever its memberships say.
        var active = db.Users.Where(u => u.Id == userId && u.DeactivatedUtc == null);
        return db.Environments.Where(e => active.Any() && (
            viaRole.Contains(e.Project!.OrganizationId) ||
            (member.Contains(e.Project!.OrganizationId) && granted.Contains(e.ProjectId))));
    }
}
