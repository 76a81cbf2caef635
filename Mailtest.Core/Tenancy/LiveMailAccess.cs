using System.Collections.Concurrent;
using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Tenancy;

/// <summary>
/// "May this caller still read this environment's mail?" for every live delivery of the API (each SSE
/// event, each wait answer): a user through <see cref="CurrentAccess"/>, an environment token by
/// whether it is still unrevoked. Token answers are kept for <see cref="CurrentAccess.FreshFor"/>; a
/// revocation on this node is seen at once (<see cref="TokenRevoked"/>), on another node within that time.
/// </summary>
public sealed class LiveMailAccess(CurrentAccess users, IDbContextFactory<MailtestDbContext> dbFactory, TimeProvider clock)
{
    private readonly ConcurrentDictionary<Guid, (bool Live, DateTimeOffset ConfirmedAt)> _tokens = new();

    public async ValueTask<bool> MayReadAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        if (caller.EnvironmentToken is not { } token)
            return await users.MayReadAsync(caller.UserId, environmentId, cancellationToken);
        if (token.EnvironmentId != environmentId) return false;
        var now = clock.GetUtcNow();
        if (_tokens.TryGetValue(token.TokenId, out var known) && now - known.ConfirmedAt < CurrentAccess.FreshFor)
            return known.Live;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var live = await db.ApiTokens.AnyAsync(t => t.Id == token.TokenId && t.EnvironmentId == environmentId && t.RevokedUtc == null, cancellationToken);
        _tokens[token.TokenId] = (live, now);
        return live;
    }

    /// <summary>Called after an environment token was revoked on this node.</summary>
    public void TokenRevoked(Guid tokenId) => _tokens[tokenId] = (false, DateTimeOffset.MaxValue);
}
