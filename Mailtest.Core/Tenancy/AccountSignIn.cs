using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Tenancy;

public enum SignInOutcome
{
    SignedIn = 0,
    WrongEmailOrPassword = 1,
    /// <summary>Too many recent failures from this source address: try again after <see cref="SignInResult.RetryAfter"/>.</summary>
    Throttled = 2,
    /// <summary>The password was right, but a platform administrator deactivated the account.</summary>
    Deactivated = 3,
}

public sealed record SignInResult(SignInOutcome Outcome, UserAccount? User = null, TimeSpan? RetryAfter = null);

/// <summary>
/// Checks a local account's password. An unknown email and a wrong password look alike and cost the
/// same: an unknown email is checked against a dummy hash made by the same hasher, and both write the
/// same audit entry. Guessing is slowed by <see cref="SignInThrottle"/>, never answered with a lock
/// that a stranger could put on someone else's account. Failures and throttling are audited.
/// </summary>
public sealed class AccountSignIn(
    IDbContextFactory<MailtestDbContext> dbFactory, IPasswordHasher<UserAccount> passwordHasher, SignInThrottle throttle, AuditLog audit, TimeProvider clock)
{
    // Made once, with this installation's hasher and settings, so that checking it costs what checking a real one costs.
    private readonly Lazy<(UserAccount User, string Hash)> _dummy = new(() =>
    {
        var user = new UserAccount { Email = "nobody@invalid", PasswordHash = "" };
        return (user, passwordHasher.HashPassword(user, Guid.NewGuid().ToString("N")));
    });

    public async Task<SignInResult> SignInAsync(string email, string password, string? remoteAddress, CancellationToken cancellationToken = default)
    {
        var normalized = Truncate(email.Trim().ToLowerInvariant());
        var wait = throttle.AddressWait(remoteAddress);
        if (wait > TimeSpan.Zero)
        {
            await audit.RecordAsync(null, normalized, AuditActions.SignInThrottled,
                detail: $"too many failed sign-ins from this address; refused for another {Math.Ceiling(wait.TotalSeconds):0} s", remoteAddress: remoteAddress, cancellationToken: cancellationToken);
            return new SignInResult(SignInOutcome.Throttled, RetryAfter: wait);
        }
        var delay = throttle.AccountDelay(normalized);
        if (delay > TimeSpan.Zero) await Task.Delay(delay, clock, cancellationToken);

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var user = await db.Users.SingleOrDefaultAsync(u => u.Email == normalized, cancellationToken);
        var (checkedUser, hash) = user is null ? _dummy.Value : (user, user.PasswordHash);
        var verdict = passwordHasher.VerifyHashedPassword(checkedUser, hash, password);
        if (user is null || verdict == PasswordVerificationResult.Failed)
        {
            throttle.RecordFailure(remoteAddress, normalized);
            // The same entry for both: the audit log reader learns no more than the person signing in.
            await audit.RecordAsync(user?.Id, normalized, AuditActions.SignInFailed, detail: "wrong email or password", remoteAddress: remoteAddress, cancellationToken: cancellationToken);
            return new SignInResult(SignInOutcome.WrongEmailOrPassword);
        }
        throttle.RecordSuccess(remoteAddress, normalized);
        if (user.DeactivatedUtc is not null)
        {
            await audit.RecordAsync(user.Id, user.Email, AuditActions.SignInFailed, detail: "account deactivated", remoteAddress: remoteAddress, cancellationToken: cancellationToken);
            return new SignInResult(SignInOutcome.Deactivated);
        }
        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = passwordHasher.HashPassword(user, password);
            await db.SaveChangesAsync(cancellationToken);
        }
        return new SignInResult(SignInOutcome.SignedIn, user);
    }

    private static string Truncate(string value) => value.Length <= 320 ? value : value[..320];
}
