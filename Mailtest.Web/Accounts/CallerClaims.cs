using System.Security.Claims;
using Mailtest.Core.Tenancy;
using Microsoft.AspNetCore.Components.Authorization;

namespace Mailtest.Web.Accounts;

/// <summary>The claims a signed-in user (cookie) or an API token carries, and the Caller they make.</summary>
public static class CallerClaims
{
    public const string PlatformAdmin = "mailtest:platform-admin";
    private const string EnvironmentTokenId = "mailtest:environment-token", TokenEnvironment = "mailtest:token-environment", TokenScope = "mailtest:token-scope";
    /// <summary>The user's security stamp when the cookie was minted (see <see cref="AccessSnapshot.AcceptsSession"/>).</summary>
    public const string SecurityStamp = "mailtest:security-stamp";

    public static IEnumerable<Claim> For(UserAccount user) =>
    [
        new(ClaimTypes.NameIdentifier, user.Id.ToString()),
        new(ClaimTypes.Email, user.Email),
        new(ClaimTypes.Name, user.Email),
        new(SecurityStamp, user.SecurityStamp),
        .. user.IsPlatformAdmin ? new[] { new Claim(PlatformAdmin, "true") } : [],
    ];

    /// <summary>An environment API token: no user, one environment, a scope.</summary>
    public static IEnumerable<Claim> For(EnvironmentTokenGrant token) =>
    [
        new(EnvironmentTokenId, token.TokenId.ToString()),
        new(TokenEnvironment, token.EnvironmentId.ToString()),
        new(TokenScope, token.Scope.ToString()),
        new(ClaimTypes.Name, token.Label),
    ];
    /// <summary>True while the session this principal came from is still good (same stamp, account active).</summary>
    public static async ValueTask<bool> IsCurrentSessionAsync(ClaimsPrincipal principal, CurrentAccess access, CancellationToken cancellationToken)
    {
        if (ToCaller(principal) is not { } caller) return false;
        var snapshot = await access.ForUserAsync(caller.UserId, cancellationToken);
        return snapshot.AcceptsSession(principal.FindFirstValue(SecurityStamp));
    }

    public static Caller? ToCaller(ClaimsPrincipal principal, string? remoteAddress = null)
    {
        if (principal.Identity?.IsAuthenticated != true) return null;
        if (Guid.TryParse(principal.FindFirstValue(EnvironmentTokenId), out var tokenId) &&
            Guid.TryParse(principal.FindFirstValue(TokenEnvironment), out var environmentId) &&
            Enum.TryParse<ApiTokenScope>(principal.FindFirstValue(TokenScope), out var scope))
            return Caller.ForEnvironmentToken(new EnvironmentTokenGrant(tokenId, environmentId, scope, principal.FindFirstValue(ClaimTypes.Name) ?? ""), remoteAddress);
        if (!Guid.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var userId)) return null;
        return new Caller(userId, principal.FindFirstValue(ClaimTypes.Email) ?? "", principal.HasClaim(PlatformAdmin, "true"), remoteAddress);
    }
}

/// <summary>
/// The signed-in caller inside a Blazor component (scoped to the circuit). The remote address is
/// handed over by <c>Routes</c> from the page request, since a circuit has no HttpContext.
/// </summary>
public sealed class CurrentCaller(AuthenticationStateProvider authentication)
{
    public string? RemoteAddress { get; set; }

    public async Task<Caller?> GetAsync()
    {
        var state = await authentication.GetAuthenticationStateAsync();
        return CallerClaims.ToCaller(state.User, RemoteAddress);
    }

    /// <summary>The caller, for pages that require sign-in (the router has already checked it).</summary>
    public async Task<Caller> RequireAsync() =>
        await GetAsync() ?? throw new AccessDeniedException("Sign in first.");
}

/// <summary>
/// The organization the dashboard is showing: the one chosen in the app bar (a cookie, handed
/// over by <c>Routes</c>), else the caller's first. Membership is checked on every read.
/// </summary>
public sealed class SelectedOrganization(CurrentCaller callers, TenancyDirectory directory)
{
    public Guid? RequestedId { get; set; }

    public async Task<(OrganizationSummary? Selected, IReadOnlyList<OrganizationSummary> Mine)> GetAsync()
    {
        var caller = await callers.GetAsync();
        if (caller is null) return (null, []);
        var mine = await directory.MyOrganizationsAsync(caller);
        var selected = mine.FirstOrDefault(o => o.Id == RequestedId) ?? mine.FirstOrDefault();
        return (selected, mine);
    }
}
