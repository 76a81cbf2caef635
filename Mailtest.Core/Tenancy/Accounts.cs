namespace Mailtest.Core.Tenancy;

public sealed class UserAccount
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    /// <summary>Stored lowercased; unique.</summary>
    public required string Email { get; set; }
    /// <summary>ASP.NET Core <c>PasswordHasher</c> output.</summary>
    public required string PasswordHash { get; set; }
    public bool IsPlatformAdmin { get; set; }
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;

    /// <summary>
    /// Carried in the sign-in cookie and compared on every request and by every open circuit; a new
    /// stamp ends every session of the user (sign-out, password change, removal, "sign out everywhere").
    /// </summary>
    public string SecurityStamp { get; set; } = NewSecurityStamp();

    /// <summary>Moves whenever what the user may read changes (grants, memberships, deactivation, sessions ended): see <see cref="CurrentAccess"/>.</summary>
    public long AccessVersion { get; set; }

    /// <summary>Set by a platform administrator: the user cannot sign in, and every session, token and open page stops.</summary>
    public DateTime? DeactivatedUtc { get; set; }

    public static string NewSecurityStamp() => Guid.NewGuid().ToString("N");
}

public enum OrganizationRole
{
    Member = 0,
    Admin = 1,
    Owner = 2,
}

public sealed class Membership
{
    public Guid OrganizationId { get; set; }
    public Organization? Organization { get; set; }
    public Guid UserId { get; set; }
    public UserAccount? User { get; set; }
    public OrganizationRole Role { get; set; }
}
