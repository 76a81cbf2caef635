using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Tenancy;

public enum SignInOutcome
{
    SignedIn = 0,
    WrongEmailOrPassword = 1,
    LockedOut = 2,
}

public sealed record SignInResult(SignInOutcome Outcome, UserAccount? User = null, DateTime? LockedOutUntilUtc = null);

/// <summary>
/// Checks a local account's password, with lockout: after <see cref="FailuresBeforeLockout"/>
/// wrong passwords in a row the account refuses every attempt for <see cref="LockoutDuration"/>.
/// Failed attempts are written to the audit log. An unknown email and a wrong password look alike.
/// </summary>
public sealed class AccountSignIn(
    IDbContextFactory<MailtestDbContext> dbFactory, IPasswordHasher<UserAccount> passwordHasher, AuditLog audit, TimeProvider clock)
{
    public const int FailuresBeforeLockout = 5;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    public async Task<SignInResult> SignInAsync(string email, string password, string? remoteAddress, CancellationToken cancellationToken = default)
    {
        var normalized = email.Trim().ToLowerInvariant();
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var user = await db.Users.SingleOrDefaultAsync(u => u.Email == normalized, cancellationToken);
        if (user is null)
        {
            await audit.RecordAsync(null, Truncate(normalized), AuditActions.SignInFailed, detail: "unknown email", remoteAddress: remoteAddress, cancellationToken: cancellationToken);
            return new SignInResult(SignInOutcome.WrongEmailOrPassword);
        }
        if (user.LockedOutUntilUtc > now)
        {
            await audit.RecordAsync(user.Id, user.Email, AuditActions.SignInFailed, detail: "account locked", remoteAddress: remoteAddress, cancellationToken: cancellationToken);
            return new SignInResult(SignInOutcome.LockedOut, LockedOutUntilUtc: user.LockedOutUntilUtc);
        }

        var verdict = passwordHasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (verdict == PasswordVerificationResult.Failed)
        {
            user.FailedSignInCount++;
            var lockedNow = user.FailedSignInCount >= FailuresBeforeLockout;
            if (lockedNow)
            {
                user.LockedOutUntilUtc = now + LockoutDuration;
                user.FailedSignInCount = 0;
            }
            await db.SaveChangesAsync(cancellationToken);
            await audit.RecordAsync(user.Id, user.Email, lockedNow ? AuditActions.SignInLockedOut : AuditActions.SignInFailed,
                detail: lockedNow ? $"locked for {LockoutDuration.TotalMinutes:0} minutes" : "wrong password", remoteAddress: remoteAddress, cancellationToken: cancellationToken);
            return lockedNow
                ? new SignInResult(SignInOutcome.LockedOut, LockedOutUntilUtc: user.LockedOutUntilUtc)
                : new SignInResult(SignInOutcome.WrongEmailOrPassword);
        }

        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
            user.PasswordHash = passwordHasher.HashPassword(user, password);
        user.FailedSignInCount = 0;
        user.LockedOutUntilUtc = null;
        await db.SaveChangesAsync(cancellationToken);
        return new SignInResult(SignInOutcome.SignedIn, user);
    }

    /// <summary>The user as the cookie should describe them now (null when the account is gone).</summary>
    public async Task<UserAccount?> FindAsync(Guid userId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == userId, cancellationToken);
    }

    private static string Truncate(string value) => value.Length <= 320 ? value : value[..320];
}
