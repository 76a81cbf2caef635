using System.Security.Claims;
using Mailtest.Core.Tenancy;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;

namespace Mailtest.Web.Accounts;

/// <summary>
/// The authentication state of an open circuit (a page that stays open for hours without a request).
/// Its session is checked again the moment the user's access changes on this node
/// (<see cref="CurrentAccess.Changed"/>), and every <see cref="RevalidationInterval"/> for changes made
/// on another node. Once the session has ended the circuit becomes anonymous, so the router swaps the
/// page for the sign-in redirect and the page's subscriptions are disposed.
/// </summary>
internal sealed class SessionRevalidation : RevalidatingServerAuthenticationStateProvider
{
    private readonly CurrentAccess _access;

    public SessionRevalidation(ILoggerFactory loggerFactory, CurrentAccess access) : base(loggerFactory)
    {
        _access = access;
        _access.Changed += OnAccessChanged;
    }

    protected override TimeSpan RevalidationInterval => TimeSpan.FromSeconds(10);

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken) =>
        await CallerClaims.IsCurrentSessionAsync(authenticationState.User, _access, cancellationToken);

    private void OnAccessChanged(Guid userId) => _ = CheckNowAsync(userId);

    private async Task CheckNowAsync(Guid userId)
    {
        var state = await GetAuthenticationStateAsync();
        if (CallerClaims.ToCaller(state.User)?.UserId != userId) return;
        if (!await CallerClaims.IsCurrentSessionAsync(state.User, _access, CancellationToken.None))
            SetAuthenticationState(Task.FromResult(new AuthenticationState(new ClaimsPrincipal(new ClaimsIdentity()))));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _access.Changed -= OnAccessChanged;
        base.Dispose(disposing);
    }
}
