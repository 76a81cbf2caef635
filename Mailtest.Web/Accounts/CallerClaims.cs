using System.Security.Claims;
using Mailtest.Core.Tenancy;
using Microsoft.AspNetCore.Components.Authorization;

namespace Mailtest.Web.Accounts;

/// <summary>The claims a signed-in user (cookie) or an API token carries, and the Caller they make.</summary>
public static class CallerClaims
{
    public const string PlatformAdmin = "mailtest:platform-admin";

    public static IEnumerable<Claim> For(UserAccount user) =>
    [
        new(ClaimTypes.NameIdentifier, user.Id.ToString()),
        new(ClaimTypes.Email, user.Email),
        new(ClaimTypes.Name, user.Email),
        .. user.IsPlatformAdmin ? new[] { new Claim(PlatformAdmin, "true") } : [],
    ];

    public static Caller? ToCaller(ClaimsPrincipal principal, string? remoteAddress = null)
    {
        if (principal.Identity?.IsAuthenticated != true) return null;
        if (!Guid.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var userId)) return null;
        return new Caller(userId, principal.FindFirstValue(ClaimTypes.Email) ?? "", principal.HasClaim(PlatformAdmin, "true"), remoteAddress);
    }
}

/// <summary>The signed-in caller inside a Blazor component (scoped to the circuit).</summary>
public sealed class CurrentCaller(AuthenticationStateProvider authentication)
{
    public async Task<Caller?> GetAsync()
    {
        var state = await authentication.GetAuthenticationStateAsync();
        return CallerClaims.ToCaller(state.User);
    }
}
