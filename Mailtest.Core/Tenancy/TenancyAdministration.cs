using System.Net;
using System.Net.Mail;
using System.Security.Cryptography;
using Mailtest.Core.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Tenancy;

/// <summary>
/// Creates organizations, projects, environments, users and memberships. Callers (dashboard, API,
/// admin command line) check permissions first; this class checks the input.
/// </summary>
public sealed class TenancyAdministration(IDbContextFactory<MailtestDbContext> dbFactory, IPasswordHasher<UserAccount> passwordHasher, CurrentAccess currentAccess)
{
    public const int MinimumPasswordLength = 10;
    private const string SlugAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    public async Task<Organization> CreateOrganizationAsync(string name, Plan plan, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var organization = new Organization { Name = RequireName(name, "organization"), Plan = plan, Slug = await UniqueSlugAsync(db.Organizations.Select(o => o.Slug), cancellationToken) };
        db.Organizations.Add(organization);
        await db.SaveChangesAsync(cancellationToken);
        return organization;
    }

    public async Task<Project> CreateProjectAsync(Guid organizationId, string name, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Organizations.AnyAsync(o => o.Id == organizationId, cancellationToken))
            throw new TenancyException($"There is no organization {organizationId}.");
        var project = new Project { OrganizationId = organizationId, Name = RequireName(name, "project") };
        db.Projects.Add(project);
        await db.SaveChangesAsync(cancellationToken);
        return project;
    }

    public async Task<ProjectEnvironment> CreateEnvironmentAsync(Guid projectId, string name, EnvironmentKind kind, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Projects.AnyAsync(p => p.Id == projectId, cancellationToken))
            throw new TenancyException($"There is no project {projectId}.");
        var environment = new ProjectEnvironment
        {
            ProjectId = projectId, Name = RequireName(name, "environment"), Kind = kind,
            Slug = await UniqueSlugAsync(db.Environments.Select(e => e.Slug), cancellationToken),
        };
        db.Environments.Add(environment);
        await db.SaveChangesAsync(cancellationToken);
        return environment;
    }

    public async Task<UserAccount> CreateUserAsync(string email, string password, bool isPlatformAdmin, CancellationToken cancellationToken = default)
    {
        var normalized = NormalizeEmail(email);
        if (password.Length < MinimumPasswordLength)
            throw new TenancyException($"The password must be at least {MinimumPasswordLength} characters long.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (await db.Users.AnyAsync(u => u.Email == normalized, cancellationToken))
            throw new TenancyException($"A user with the email {normalized} already exists.");
        var user = new UserAccount { Email = normalized, PasswordHash = "", IsPlatformAdmin = isPlatformAdmin };
        user.PasswordHash = passwordHasher.HashPassword(user, password);
        db.Users.Add(user);
        await db.SaveChangesAsync(cancellationToken);
        return user;
    }

    /// <summary>Adds the user to the organization, or changes the role of an existing member.</summary>
    public async Task<Membership> AddMemberAsync(Guid organizationId, string email, OrganizationRole role, CancellationToken cancellationToken = default)
    {
        var normalized = NormalizeEmail(email);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Organizations.AnyAsync(o => o.Id == organizationId, cancellationToken))
            throw new TenancyException($"There is no organization {organizationId}.");
        var user = await db.Users.SingleOrDefaultAsync(u => u.Email == normalized, cancellationToken)
            ?? throw new TenancyException($"There is no user with the email {normalized}; create the user first.");
        var membership = await db.Memberships.FindAsync([organizationId, user.Id], cancellationToken);
        if (membership is null)
        {
            membership = new Membership { OrganizationId = organizationId, UserId = user.Id, Role = role };
            db.Memberships.Add(membership);
        }
        else membership.Role = role;
        await db.SaveChangesAsync(cancellationToken);
        // A new role can take permissions away (owner to member): open pages look again.
        await currentAccess.RecordChangeAsync(user.Id, endSessions: false, cancellationToken);
        return membership;
    }

    public static string NormalizeEmail(string email)
    {
        var trimmed = email.Trim().ToLowerInvariant();
        if (!MailAddress.TryCreate(trimmed, out var parsed) || parsed.Address != trimmed)
            throw new TenancyException($"'{email}' is not an email address.");
        return trimmed;
    }

    private static string RequireName(string name, string what)
    {
        var trimmed = name.Trim();
        if (trimmed.Length is 0 or > 200)
            throw new TenancyException($"The {what} name must be between 1 and 200 characters.");
        return trimmed;
    }

    private static async Task<string> UniqueSlugAsync(IQueryable<string> existing, CancellationToken cancellationToken)
    {
        // 36^6 ≈ 2 billion: a collision is rare, and a retry settles it.
        while (true)
        {
            var slug = RandomNumberGenerator.GetString(SlugAlphabet, 6);
            if (!await existing.AnyAsync(s => s == slug, cancellationToken)) return slug;
        }
    }
}

/// <summary>Input that tenancy refuses (HTTP 400), with a sentence a person can act on.</summary>
public sealed class TenancyException(string message) : RefusalException(HttpStatusCode.BadRequest, message);
