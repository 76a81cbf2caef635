using System.Collections.Concurrent;
using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Tenancy;

/// <summary>What one user may do right now, as <see cref="CurrentAccess"/> last confirmed it.</summary>
/// <param name="Exists">False when the account is gone: nothing is allowed.</param>
/// <param name="IsActive">False when the account exists but is deactivated: nothing is allowed.</param>
public sealed record AccessSnapshot(Guid UserId, bool Exists, bool IsActive, long Version, string SecurityStamp, IReadOnlySet<Guid> ViewableEnvironmentIds)
{
    public bool MayRead(Guid environmentId) => Exists && IsActive && ViewableEnvironmentIds.Contains(environmentId);

    /// <summary>A session (cookie or circuit) minted with <paramref name="stamp"/> is still good.</summary>
    public bool AcceptsSession(string? stamp) => Exists && IsActive && stamp is not null && stamp == SecurityStamp;
}

/// <summary>
/// The current answer to "may this user read this environment's mail, is this session still good?",
/// for checks that run often: every read of an open inbox, every live event delivered to it, every
/// preview link used, every request and every open circuit. AccessRules stays the rule; this is
/// its cheap, current form.
///
/// Each user row carries an access version, moved by <see cref="RecordChangeAsync"/> in the same place
/// every change to a user's memberships, grants, sessions or activation goes through. A check reads
/// that one row at most once per <see cref="FreshFor"/> per user and asks AccessRules again only when
/// the version moved. A change made on this node is seen at once (the cached entry is dropped and
/// <see cref="Changed"/> tells open pages to look again); one made on another node within FreshFor.
/// </summary>
public sealed class CurrentAccess(IDbContextFactory<MailtestDbContext> dbFactory, AccessRules rules, TimeProvider clock, ILogger<CurrentAccess> logger)
{
    public static readonly TimeSpan FreshFor = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<Guid, (AccessSnapshot Snapshot, DateTimeOffset ConfirmedAt)> _confirmed = new();

    /// <summary>Raised (off the changing request's path) with the user whose access changed on this node.</summary>
    public event Action<Guid>? Changed;

    public async ValueTask<AccessSnapshot> ForUserAsync(Guid userId, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        if (_confirmed.TryGetValue(userId, out var known) && now - known.ConfirmedAt < FreshFor)
            return known.Snapshot;

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await db.Users.AsNoTracking().Where(u => u.Id == userId)
            .Select(u => new { u.AccessVersion, u.SecurityStamp, u.DeactivatedUtc }).SingleOrDefaultAsync(cancellationToken);
        AccessSnapshot snapshot;
        if (row is null)
            snapshot = new AccessSnapshot(userId, Exists: false, IsActive: false, -1, "", new HashSet<Guid>());
        else if (known.Snapshot is { Exists: true } previous && previous.Version == row.AccessVersion)
            snapshot = previous;
        else
            snapshot = new AccessSnapshot(userId, Exists: true, IsActive: row.DeactivatedUtc is null, row.AccessVersion, row.SecurityStamp,
                row.DeactivatedUtc is null ? await rules.ViewableEnvironmentIdsAsync(userId, cancellationToken) : new HashSet<Guid>());
        _confirmed[userId] = (snapshot, now);
        return snapshot;
    }

    public async ValueTask<bool> MayReadAsync(Guid userId, Guid environmentId, CancellationToken cancellationToken = default) =>
        (await ForUserAsync(userId, cancellationToken)).MayRead(environmentId);

    /// <summary>
    /// Records that the users' access changed (call after the change is saved): moves their access
    /// version, and with <paramref name="endSessions"/> gives them a new security stamp so that every
    /// cookie and open circuit they hold stops working.
    /// </summary>
    public async Task RecordChangeAsync(IReadOnlyCollection<Guid> userIds, bool endSessions, CancellationToken cancellationToken = default)
    {
        if (userIds.Count == 0) return;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            // One stamp per user, so that two users never share one.
            foreach (var userId in userIds)
            {
                var stamp = UserAccount.NewSecurityStamp();
                await (endSessions
                    ? db.Users.Where(u => u.Id == userId).ExecuteUpdateAsync(s => s
                        .SetProperty(u => u.AccessVersion, u => u.AccessVersion + 1).SetProperty(u => u.SecurityStamp, stamp), CancellationToken.None)
                    : db.Users.Where(u => u.Id == userId).ExecuteUpdateAsync(s => s
                        .SetProperty(u => u.AccessVersion, u => u.AccessVersion + 1), CancellationToken.None));
            }
        }
        foreach (var userId in userIds)
        {
            _confirmed.TryRemove(userId, out _);
            foreach (var handler in Changed?.GetInvocationList().Cast<Action<Guid>>() ?? [])
                _ = Task.Run(() =>
                {
                    try { handler(userId); }
                    catch (Exception e) { logger.LogError(e, "An open page failed to react to an access change of user {UserId}", userId); }
                }, CancellationToken.None);
        }
    }

    public Task RecordChangeAsync(Guid userId, bool endSessions, CancellationToken cancellationToken = default) =>
        RecordChangeAsync([userId], endSessions, cancellationToken);
}
