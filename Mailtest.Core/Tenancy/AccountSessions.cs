using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Tenancy;

/// <summary>
/// Ends sessions. A session is good while the security stamp it was minted with is the user's current
/// one (see <see cref="CurrentAccess"/>), so each of these gives the user a new stamp: every cookie
/// and every open page of that user stops at its next request or check, on every device.
/// </summary>
public sealed class AccountSessions(
    IDbContextFactory<MailtestDbContext> dbFactory, CurrentAccess access, AuditLog audit,
    IPasswordHasher<UserAccount> passwordHasher, TimeProvider clock)
{
    /// <summary>The user signs out: a cookie copied before stops working too.</summary>
    public async Task SignOutAsync(Caller caller, CancellationToken cancellationToken = default)
    {
        await access.RecordChangeAsync(caller.UserId, endSessions: true, cancellationToken);
        await audit.RecordAsync(caller, AuditActions.SignOut, cancellationToken: cancellationToken);
    }

    /// <summary>A platform administrator ends every session of a user (a lost laptop, a leaked cookie).</summary>
    public async Task SignOutEverywhereAsync(Caller caller, Guid userId, CancellationToken cancellationToken = default)
    {
        var user = await RequireUserForAdministratorAsync(caller, userId, cancellationToken);
        await access.RecordChangeAsync(user.Id, endSessions: true, cancellationToken);
        await audit.RecordAsync(caller, AuditActions.SignOutEverywhere, detail: user.Email, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// A platform administrator deactivates (or reactivates) a user: a deactivated user cannot sign in,
    /// their sessions, API tokens, open pages and preview links stop, their memberships stay for later.
    /// </summary>
    public async Task SetDeactivatedAsync(Caller caller, Guid userId, bool deactivated, CancellationToken cancellationToken = default)
    {
        var user = await RequireUserForAdministratorAsync(caller, userId, cancellationToken);
        if (user.Id == caller.UserId)
            throw new AccessDeniedException("You cannot deactivate your own account; ask another platform administrator.");
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var deactivatedUtc = deactivated ? clock.GetUtcNow().UtcDateTime : (DateTime?)null;
            await db.Users.Where(u => u.Id == userId).ExecuteUpdateAsync(s => s.SetProperty(u => u.DeactivatedUtc, deactivatedUtc), cancellationToken);
        }
        await access.RecordChangeAsync(user.Id, endSessions: true, cancellationToken);
        await audit.RecordAsync(caller, deactivated ? AuditActions.UserDeactivated : AuditActions.UserReactivated, detail: user.Email, cancellationToken: cancellationToken);
    }

    /// <summary>The user changes their own password; every session, this one included, ends (sign in again with the new one).</summary>
    public async Task ChangePasswordAsync(Caller caller, string currentPassword, string newPassword, CancellationToken cancellationToken = default)
    {
        if (newPassword.Length < TenancyAdministration.MinimumPasswordLength)
            throw new TenancyException($"The new password must be at least {TenancyAdministration.MinimumPasswordLength} characters long.");
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var user = await db.Users.SingleOrDefaultAsync(u => u.Id == caller.UserId, cancellationToken)
                ?? throw new NotFoundException("Your account no longer exists.");
            if (passwordHasher.VerifyHashedPassword(user, user.PasswordHash, currentPassword) == PasswordVerificationResult.Failed)
                throw new AccessDeniedException("The current password is not right.");
            user.PasswordHash = passwordHasher.HashPassword(user, newPassword);
            await db.SaveChangesAsync(cancellationToken);
        }
        await access.RecordChangeAsync(caller.UserId, endSessions: true, cancellationToken);
        await audit.RecordAsync(caller, AuditActions.PasswordChanged, cancellationToken: cancellationToken);
    }

    private async Task<UserAccount> RequireUserForAdministratorAsync(Caller caller, Guid userId, CancellationToken cancellationToken)
    {
        if (!caller.IsPlatformAdmin)
            throw new AccessDeniedException("Only platform administrators can end another user's sessions or deactivate users.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == userId, cancellationToken)
            ?? throw new NotFoundException("There is no such user.");
    }
}
