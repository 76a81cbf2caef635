using System.Security.Claims;
using Mailtest.Core.Tenancy;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Web.Accounts;

/// <summary>
/// The authentication state of an open circuit (a page that stays open for hours without a request).
/// Its session is checked again the moment the user's access changes on this node
/// (<see cref="CurrentAccess.Changed"/>), and every <see cref="RevalidationInterval"/> for changes made
/// on another node. Once the session has ended the circuit becomes anonymous, so the router swaps the
/// page for the sign-in redirect and the page's subscriptions are disposed.
/// <para>
/// Checking ends when the application stops: a circuit outlives the application's stop (it is kept for
/// a reconnect that will not come), and its checks would otherwise go on reading a database that is
/// closing or gone (logged as errors at every shutdown).
/// </para>
/// </summary>
internal sealed class SessionRevalidation : RevalidatingServerAuthenticationStateProvider
{
    private readonly CurrentAccess _access;
    private readonly CancellationTokenRegistration _stopping;

    public SessionRevalidation(ILoggerFactory loggerFactory, CurrentAccess access, IHostApplicationLifetime application) : base(loggerFactory)
    {
        _access = access;
        _access.Changed += OnAccessChanged;
        // The base class's Dispose ends its revalidation loop (and is safe to call again when the circuit goes).
        _stopping = application.ApplicationStopping.Register(() => ((IDisposable)this).Dispose());
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
        if (disposing)
        {
            _access.Changed -= OnAccessChanged;
            _stopping.Unregister();
        }
        base.Dispose(disposing);
    }
}
