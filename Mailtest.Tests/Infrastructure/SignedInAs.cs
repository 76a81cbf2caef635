using System.Security.Claims;
using Mailtest.Core.Tenancy;
using Microsoft.AspNetCore.Components.Authorization;

namespace Mailtest.Tests.Infrastructure;

/// <summary>A circuit whose user is signed in as <see cref="Caller"/> (the claims the sign-in cookie carries).</summary>
public sealed class SignedInAs(Caller caller) : AuthenticationStateProvider
{
    /// <summary>Who is signed in; a test may set it after the services were built, before the page asks.</summary>
    public Caller Caller { get; set; } = caller;

    public override Task<AuthenticationState> GetAuthenticationStateAsync() =>
        Task.FromResult(new AuthenticationState(new ClaimsPrincipal(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, Caller.UserId.ToString()),
            new Claim(ClaimTypes.Email, Caller.Email),
        ], "test"))));
}
