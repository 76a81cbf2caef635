using System.Net;
using Mailtest.Core.Audit;
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

/// <summary>Who is asking: a signed-in user or an API token's owner.</summary>
public sealed record Caller(Guid UserId, string Email, bool IsPlatformAdmin, string? RemoteAddress = null);

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
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var environment = await VisibleEnvironments(db, caller.UserId, ProjectPermission.MailtestView)
            .Include(e => e.Project!).ThenInclude(p => p.Organization)
            .AsNoTracking()
            .SingleOrDefaultAsync(e => e.Id == environmentId, cancellationToken)
            ?? throw new NotFoundException("There is no such environment, or you are not a member of its organization.");
        if (permission == ProjectPermission.MailtestManage &&
            !await VisibleEnvironments(db, caller.UserId, ProjectPermission.MailtestManage).AnyAsync(e => e.Id == environmentId, cancellationToken))
            throw new AccessDeniedException("You need the project.mailtest.manage permission on this project; ask an owner or admin of the organization.");
        return environment;
    }

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
