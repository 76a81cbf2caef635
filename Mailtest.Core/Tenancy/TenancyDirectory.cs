using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Tenancy;

public sealed record OrganizationSummary(Guid Id, string Name, Plan Plan, OrganizationRole? Role);
public sealed record MemberSummary(Guid UserId, string Email, OrganizationRole Role, IReadOnlyList<Guid> ManagedProjectIds, IReadOnlyList<Guid> ViewedProjectIds);
public sealed record UserSummary(Guid Id, string Email, bool IsPlatformAdmin, DateTime CreatedUtc, int OrganizationCount, bool IsDeactivated = false);

/// <summary>
/// What the dashboard shows of organizations, members, projects and environments, and the changes
/// made there, each checked for the caller: owners and admins of an organization manage it (members,
/// projects, environments, grants); platform administrators manage organizations, users and plans.
/// Another organization's objects look absent (<see cref="NotFoundException"/>).
/// </summary>
public sealed class TenancyDirectory(IDbContextFactory<MailtestDbContext> dbFactory, TenancyAdministration administration, AccessRules access, CurrentAccess currentAccess)
{
    /// <summary>The organizations the caller belongs to (the app bar's selector).</summary>
    public async Task<IReadOnlyList<OrganizationSummary>> MyOrganizationsAsync(Caller caller, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Memberships.Where(m => m.UserId == caller.UserId)
            .OrderBy(m => m.Organization!.Name)
            .Select(m => new OrganizationSummary(m.OrganizationId, m.Organization!.Name, m.Organization.Plan, m.Role))
            .ToListAsync(cancellationToken);
    }

    /// <summary>Every organization (platform administrators only).</summary>
    public async Task<IReadOnlyList<OrganizationSummary>> AllOrganizationsAsync(Caller caller, CancellationToken cancellationToken = default)
    {
        RequirePlatformAdmin(caller);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Organizations.OrderBy(o => o.Name)
            .Select(o => new OrganizationSummary(o.Id, o.Name, o.Plan, null)).ToListAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<UserSummary>> AllUsersAsync(Caller caller, CancellationToken cancellationToken = default)
    {
        RequirePlatformAdmin(caller);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Users.OrderBy(u => u.Email)
            .Select(u => new UserSummary(u.Id, u.Email, u.IsPlatformAdmin, u.CreatedUtc, db.Memberships.Count(m => m.UserId == u.Id), u.DeactivatedUtc != null))
            .ToListAsync(cancellationToken);
    }

    /// <summary>Creates an organization and makes <paramref name="ownerEmail"/> (an existing user) its owner.</summary>
    public async Task<Organization> CreateOrganizationAsync(Caller caller, string name, Plan plan, string ownerEmail, CancellationToken cancellationToken = default)
    {
        RequirePlatformAdmin(caller);
        TenancyAdministration.NormalizeEmail(ownerEmail);
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var normalized = ownerEmail.Trim().ToLowerInvariant();
            if (!await db.Users.AnyAsync(u => u.Email == normalized, cancellationToken))
                throw new TenancyException($"There is no user with the email {normalized}; create the user first.");
        }
        var organization = await administration.CreateOrganizationAsync(name, plan, cancellationToken);
        await administration.AddMemberAsync(organization.Id, ownerEmail, OrganizationRole.Owner, cancellationToken);
        return organization;
    }

    public async Task<UserAccount> CreateUserAsync(Caller caller, string email, string password, bool isPlatformAdmin, CancellationToken cancellationToken = default)
    {
        RequirePlatformAdmin(caller);
        return await administration.CreateUserAsync(email, password, isPlatformAdmin, cancellationToken);
    }

    /// <summary>The organization, if the caller is a member (or a platform administrator).</summary>
    public async Task<OrganizationSummary> RequireOrganizationAsync(Caller caller, Guid organizationId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var role = await db.Memberships.Where(m => m.UserId == caller.UserId && m.OrganizationId == organizationId)
            .Select(m => (OrganizationRole?)m.Role).SingleOrDefaultAsync(cancellationToken);
        if (role is null && !caller.IsPlatformAdmin)
            throw new NotFoundException("There is no such organization, or you are not a member of it.");
        return await db.Organizations.Where(o => o.Id == organizationId)
            .Select(o => new OrganizationSummary(o.Id, o.Name, o.Plan, role)).SingleOrDefaultAsync(cancellationToken)
            ?? throw new NotFoundException("There is no such organization, or you are not a member of it.");
    }

    /// <summary>True when the caller may change the organization's members, projects and environments.</summary>
    public static bool CanAdminister(Caller caller, OrganizationSummary organization) =>
        caller.IsPlatformAdmin || organization.Role is OrganizationRole.Owner or OrganizationRole.Admin;

    public async Task<IReadOnlyList<MemberSummary>> MembersAsync(Caller caller, Guid organizationId, CancellationToken cancellationToken = default)
    {
        await RequireOrganizationAsync(caller, organizationId, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var members = await db.Memberships.Where(m => m.OrganizationId == organizationId)
            .OrderBy(m => m.User!.Email).Select(m => new { m.UserId, m.User!.Email, m.Role }).ToListAsync(cancellationToken);
        var grants = await db.ProjectGrants.Where(g => db.Projects.Any(p => p.Id == g.ProjectId && p.OrganizationId == organizationId))
            .ToListAsync(cancellationToken);
        return [.. members.Select(m => new MemberSummary(m.UserId, m.Email, m.Role,
            [.. grants.Where(g => g.UserId == m.UserId && g.Permission == ProjectPermission.MailtestManage).Select(g => g.ProjectId)],
            [.. grants.Where(g => g.UserId == m.UserId && g.Permission == ProjectPermission.MailtestView).Select(g => g.ProjectId)]))];
    }

    public async Task AddMemberAsync(Caller caller, Guid organizationId, string email, OrganizationRole role, CancellationToken cancellationToken = default)
    {
        var organization = await RequireAdministratorAsync(caller, organizationId, cancellationToken);
        if (role == OrganizationRole.Owner && organization.Role != OrganizationRole.Owner && !caller.IsPlatformAdmin)
            throw new AccessDeniedException("Only an owner can make someone an owner.");
        await administration.AddMemberAsync(organizationId, email, role, cancellationToken);
    }

    public async Task RemoveMemberAsync(Caller caller, Guid organizationId, Guid userId, CancellationToken cancellationToken = default)
    {
        await RequireAdministratorAsync(caller, organizationId, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var membership = await db.Memberships.FindAsync([organizationId, userId], cancellationToken)
            ?? throw new NotFoundException("That person is not a member of this organization.");
        if (membership.Role == OrganizationRole.Owner &&
            await db.Memberships.CountAsync(m => m.OrganizationId == organizationId && m.Role == OrganizationRole.Owner, cancellationToken) == 1)
            throw new TenancyException("An organization keeps at least one owner: make someone else owner first.");
        db.Memberships.Remove(membership);
        await db.ProjectGrants.Where(g => g.UserId == userId && db.Projects.Any(p => p.Id == g.ProjectId && p.OrganizationId == organizationId))
            .ExecuteDeleteAsync(cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        // Removed from the organization: their open pages lose its mail and their sessions end.
        await currentAccess.RecordChangeAsync(userId, endSessions: true, cancellationToken);
    }

    /// <summary>Gives or takes a member's permission on one project.</summary>
    public async Task SetGrantAsync(Caller caller, Guid projectId, Guid userId, ProjectPermission permission, bool granted, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var organizationId = await db.Projects.Where(p => p.Id == projectId).Select(p => (Guid?)p.OrganizationId).SingleOrDefaultAsync(cancellationToken)
            ?? throw new NotFoundException("There is no such project.");
        await RequireAdministratorAsync(caller, organizationId, cancellationToken);
        if (!await db.Memberships.AnyAsync(m => m.OrganizationId == organizationId && m.UserId == userId, cancellationToken))
            throw new NotFoundException("That person is not a member of this organization.");
        var existing = await db.ProjectGrants.FindAsync([projectId, userId, permission], cancellationToken);
        if (granted && existing is null) db.ProjectGrants.Add(new ProjectGrant { ProjectId = projectId, UserId = userId, Permission = permission });
        if (!granted && existing is not null) db.ProjectGrants.Remove(existing);
        await db.SaveChangesAsync(cancellationToken);
        await currentAccess.RecordChangeAsync(userId, endSessions: false, cancellationToken);
    }

    public async Task<IReadOnlyList<Project>> ProjectsAsync(Caller caller, Guid organizationId, CancellationToken cancellationToken = default)
    {
        await RequireOrganizationAsync(caller, organizationId, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Projects.AsNoTracking().Where(p => p.OrganizationId == organizationId).OrderBy(p => p.Name).ToListAsync(cancellationToken);
    }

    public async Task<Project> CreateProjectAsync(Caller caller, Guid organizationId, string name, CancellationToken cancellationToken = default)
    {
        await RequireAdministratorAsync(caller, organizationId, cancellationToken);
        return await administration.CreateProjectAsync(organizationId, name, cancellationToken);
    }

    public async Task<ProjectEnvironment> CreateEnvironmentAsync(Caller caller, Guid projectId, string name, EnvironmentKind kind, CancellationToken cancellationToken = default)
    {
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var organizationId = await db.Projects.Where(p => p.Id == projectId).Select(p => (Guid?)p.OrganizationId).SingleOrDefaultAsync(cancellationToken)
                ?? throw new NotFoundException("There is no such project.");
            await RequireAdministratorAsync(caller, organizationId, cancellationToken);
        }
        return await administration.CreateEnvironmentAsync(projectId, name, kind, cancellationToken);
    }

    /// <summary>The organization's environments that the caller may see, with their projects.</summary>
    public async Task<IReadOnlyList<ProjectEnvironment>> EnvironmentsAsync(Caller caller, Guid organizationId, CancellationToken cancellationToken = default)
    {
        var viewable = await access.ViewableEnvironmentsAsync(caller, cancellationToken);
        return [.. viewable.Where(e => e.Project!.OrganizationId == organizationId)];
    }

    private async Task<OrganizationSummary> RequireAdministratorAsync(Caller caller, Guid organizationId, CancellationToken cancellationToken)
    {
        var organization = await RequireOrganizationAsync(caller, organizationId, cancellationToken);
        if (!CanAdminister(caller, organization))
            throw new AccessDeniedException("Only owners and admins of the organization can change its members, projects and environments.");
        return organization;
    }

    private static void RequirePlatformAdmin(Caller caller)
    {
        if (!caller.IsPlatformAdmin)
            throw new AccessDeniedException("Only platform administrators can manage organizations, users and plans.");
    }
}
