using System.Collections.Concurrent;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Capture;

/// <summary>What AUTH needs to know about one username, read in one query.</summary>
/// <param name="PreviousPlan">With <paramref name="PlanChangedUtc"/>: a downgrade grace may still apply the old plan's caps (see Retention.PlanGrace).</param>
public sealed record CredentialSnapshot(string Username, byte[] PasswordHash, Guid OrganizationId, Plan Plan, ProjectEnvironment Environment,
    Plan? PreviousPlan = null, DateTime? PlanChangedUtc = null);

/// <summary>
/// Non-revoked credentials by username, held in memory for a few seconds so AUTH costs no query
/// (thousands per second). Whatever changes a credential or its environment (issue, revoke, rotate,
/// disable, tamper) calls <see cref="Invalidate"/>, which takes effect at once on this node; other
/// nodes see the change within <see cref="CacheFor"/>.
/// </summary>
public sealed class SmtpCredentialCache(IDbContextFactory<MailtestDbContext> dbFactory, TimeProvider clock)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    /// <summary>Unknown usernames are cached too (a spray of them must not reach the database); past this many entries the cache starts over.</summary>
    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, Entry> _byUsername = new(StringComparer.Ordinal);
    private long _generation;

    /// <summary>The non-revoked credential with this username, or null.</summary>
    public async ValueTask<CredentialSnapshot?> FindAsync(string username, CancellationToken cancellationToken = default)
    {
        if (_byUsername.TryGetValue(username, out var entry) && clock.GetUtcNow() - entry.ReadAt < CacheFor)
            return entry.Snapshot;

        // A lookup that overlaps an invalidation must not put back what was just invalidated.
        var generation = Interlocked.Read(ref _generation);
        var snapshot = await LoadAsync(username, cancellationToken);
        if (_byUsername.Count >= MaxEntries) _byUsername.Clear();
        if (Interlocked.Read(ref _generation) == generation)
            _byUsername[username] = new Entry(snapshot, clock.GetUtcNow());
        return snapshot;
    }

    /// <summary>Forget what is known of the environment's credentials (and of unknown usernames, one of which may just have been issued).</summary>
    public void Invalidate(Guid environmentId)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (username, entry) in _byUsername)
            if (entry.Snapshot is null || entry.Snapshot.Environment.Id == environmentId)
                _byUsername.TryRemove(username, out _);
    }

    /// <summary>Forget everything (plan changes, kill switch).</summary>
    public void InvalidateAll()
    {
        Interlocked.Increment(ref _generation);
        _byUsername.Clear();
    }

    private async Task<CredentialSnapshot?> LoadAsync(string username, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var found = await (
                from c in db.SmtpCredentials
                where c.Username == username && c.RevokedUtc == null
                join e in db.Environments on c.EnvironmentId equals e.Id
                orderby c.CreatedUtc descending
                select new { c.Username, c.PasswordHash, Environment = e, e.Project!.OrganizationId, e.Project.Organization!.Plan,
                    e.Project.Organization.PreviousPlan, e.Project.Organization.PlanChangedUtc })
            .AsNoTracking()
            .FirstOrDefaultAsync(cancellationToken);
        return found is null ? null : new CredentialSnapshot(found.Username, found.PasswordHash, found.OrganizationId, found.Plan, found.Environment,
            found.PreviousPlan, found.PlanChangedUtc);
    }

    private sealed record Entry(CredentialSnapshot? Snapshot, DateTimeOffset ReadAt);
}
