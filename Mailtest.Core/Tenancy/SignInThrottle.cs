using System.Collections.Concurrent;

namespace Mailtest.Core.Tenancy;

/// <summary>
/// Slows password guessing down without handing anyone a way to lock someone else out. Recent failed
/// sign-ins are counted twice, per source address and per account (known or not, so the throttle
/// says nothing about who has an account), and forgotten <see cref="Window"/> after the last one:
/// <list type="bullet">
/// <item>An address past <see cref="FreeFailures"/> must wait before its next attempt, doubling from
/// one second up to <see cref="MaxAddressWait"/>. Only that address waits: the account's owner,
/// signing in from elsewhere, is not held back by a stranger's guesses.</item>
/// <item>An account past <see cref="FreeFailures"/> has every answer held back, doubling from one
/// second up to <see cref="MaxAccountDelay"/>: guessing from many addresses slows to a crawl, yet
/// the owner still gets in with the right password, only a few seconds later.</item>
/// </list>
/// Kept in memory on each node: it is a brake, not a record (the audit log is the record).
/// </summary>
public sealed class SignInThrottle(TimeProvider clock)
{
    public const int FreeFailures = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan MaxAddressWait = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan MaxAccountDelay = TimeSpan.FromSeconds(5);
    private const int PruneAbove = 10_000;

    private readonly ConcurrentDictionary<string, (int Count, DateTimeOffset Last)> _byAddress = new();
    private readonly ConcurrentDictionary<string, (int Count, DateTimeOffset Last)> _byAccount = new();

    /// <summary>How long this address must still wait before it may try again (zero: it may try now).</summary>
    public TimeSpan AddressWait(string? address)
    {
        if (address is null || Current(_byAddress, address) is not { } failures) return TimeSpan.Zero;
        var wait = failures.Last + Backoff(failures.Count, MaxAddressWait) - clock.GetUtcNow();
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    /// <summary>How long to hold back the answer to an attempt on this account.</summary>
    public TimeSpan AccountDelay(string account) =>
        Current(_byAccount, account) is { } failures ? Backoff(failures.Count, MaxAccountDelay) : TimeSpan.Zero;

    public void RecordFailure(string? address, string account)
    {
        var now = clock.GetUtcNow();
        if (address is not null) Count(_byAddress, address, now);
        Count(_byAccount, account, now);
    }

    /// <summary>The right password from this address: both slates are clean again.</summary>
    public void RecordSuccess(string? address, string account)
    {
        if (address is not null) _byAddress.TryRemove(address, out _);
        _byAccount.TryRemove(account, out _);
    }

    private (int Count, DateTimeOffset Last)? Current(ConcurrentDictionary<string, (int Count, DateTimeOffset Last)> counters, string key) =>
        counters.TryGetValue(key, out var failures) && clock.GetUtcNow() - failures.Last < Window ? failures : null;

    private void Count(ConcurrentDictionary<string, (int Count, DateTimeOffset Last)> counters, string key, DateTimeOffset now)
    {
        counters.AddOrUpdate(key, (1, now), (_, failures) => (now - failures.Last < Window ? failures.Count + 1 : 1, now));
        if (counters.Count > PruneAbove)
            foreach (var (stale, failures) in counters)
                if (now - failures.Last >= Window) counters.TryRemove(stale, out _);
    }

    private static TimeSpan Backoff(int failures, TimeSpan cap)
    {
        var beyond = failures - FreeFailures;
        if (beyond <= 0) return TimeSpan.Zero;
        var seconds = Math.Pow(2, Math.Min(beyond - 1, 20));
        return seconds >= cap.TotalSeconds ? cap : TimeSpan.FromSeconds(seconds);
    }
}
