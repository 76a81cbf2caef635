namespace Mailtest.Core.Tenancy;

public sealed class UserAccount
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    /// <summary>Stored lowercased; unique.</summary>
    public required string Email { get; set; }
    /// <summary>ASP.NET Core <c>PasswordHasher</c> output.</summary>
    public required string PasswordHash { get; set; }
    public bool IsPlatformAdmin { get; set; }
    public int FailedSignInCount { get; set; }
    public DateTime? LockedOutUntilUtc { get; set; }
    public DateTime CreatedUtc { get; set; } = DateTime.UtcNow;
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
