using System.Net;
using System.Net.Http.Headers;
using Mailtest.Core.Audit;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Accounts;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Security;

/// <summary>
/// A session ends for real: a copy of the sign-in cookie taken before sign-out, a password change,
/// removal from the organization, "sign out everywhere" or deactivation stops working at its next
/// request, over real HTTP on the real host.
/// </summary>
[TestCategory(Needs.Host)]
public sealed class SessionEndTests : IAsyncLifetime
{
    private const string Password = "correct horse battery";
    private MailtestTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await MailtestTestHost.StartAsync();
    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private T Get<T>() where T : notnull => _host.Services.GetRequiredService<T>();

    private async Task<UserAccount> NewUserAsync(bool platformAdmin = false) =>
        await Get<TenancyAdministration>().CreateUserAsync($"user-{Guid.NewGuid():N}@example.test", Password, platformAdmin);

    private static Caller CallerOf(UserAccount user) => new(user.Id, user.Email, user.IsPlatformAdmin);

    /// <summary>Signs in and returns the session plus a second client carrying a copy of its cookies (a stolen cookie).</summary>
    private async Task<(BrowserlessSession Session, HttpClient Copy)> SignInWithCopyAsync(UserAccount user)
    {
        var session = new BrowserlessSession(_host.WebAddress);
        var signIn = await session.SignInAsync(user.Email, Password);
        Assert.Equal("/", signIn.Headers.Location!.OriginalString);
        var copy = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = _host.WebAddress };
        copy.DefaultRequestHeaders.Add("Cookie", session.CookieHeader());
        Assert.Equal(HttpStatusCode.OK, (await copy.GetAsync("/account")).StatusCode);
        return (session, copy);
    }

    private static async Task AssertSignedOutAsync(HttpClient client)
    {
        var response = await client.GetAsync("/account");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith("/signin", response.Headers.Location!.PathAndQuery);
    }

    [Fact]
    public async Task A_cookie_copied_before_sign_out_stops_working()
    {
        var user = await NewUserAsync();
        var (session, copy) = await SignInWithCopyAsync(user);

        var signOut = await session.SubmitFormAsync("/signin", "/account/signout", new Dictionary<string, string>());

        Assert.Equal(HttpStatusCode.Found, signOut.StatusCode);
        await AssertSignedOutAsync(session.Http);
        await AssertSignedOutAsync(copy);
        var audit = await Get<AuditLog>().PageAsync(0, 200);
        Assert.Contains(audit.Items, e => e.Action == AuditActions.SignOut && e.ActorUserId == user.Id);
    }

    [Fact]
    public async Task A_password_change_ends_every_session_and_the_new_password_signs_in()
    {
        var user = await NewUserAsync();
        var (_, copy) = await SignInWithCopyAsync(user);

        var wrong = await Assert.ThrowsAsync<AccessDeniedException>(() => Get<AccountSessions>().ChangePasswordAsync(CallerOf(user), "not it", "a new long password"));
        Assert.Equal("The current password is not right.", wrong.Message);
        Assert.Equal(HttpStatusCode.OK, (await copy.GetAsync("/account")).StatusCode);

        await Get<AccountSessions>().ChangePasswordAsync(CallerOf(user), Password, "a new long password");

        await AssertSignedOutAsync(copy);
        using var again = new BrowserlessSession(_host.WebAddress);
        Assert.Contains("error=invalid", (await again.SignInAsync(user.Email, Password)).Headers.Location!.OriginalString);
        Assert.Equal("/", (await again.SignInAsync(user.Email, "a new long password")).Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Removal_from_the_organization_ends_the_members_sessions()
    {
        var owner = await NewUserAsync();
        var member = await NewUserAsync();
        var administration = Get<TenancyAdministration>();
        var organization = await administration.CreateOrganizationAsync("Acme", Plan.Pro);
        await administration.AddMemberAsync(organization.Id, owner.Email, OrganizationRole.Owner);
        await administration.AddMemberAsync(organization.Id, member.Email, OrganizationRole.Member);
        var (_, copy) = await SignInWithCopyAsync(member);

        await Get<TenancyDirectory>().RemoveMemberAsync(CallerOf(owner), organization.Id, member.Id);

        await AssertSignedOutAsync(copy);
    }

    [Fact]
    public async Task A_platform_administrator_signs_a_user_out_everywhere()
    {
        var admin = await NewUserAsync(platformAdmin: true);
        var user = await NewUserAsync();
        var (_, first) = await SignInWithCopyAsync(user);
        var (_, second) = await SignInWithCopyAsync(user);

        await Assert.ThrowsAsync<AccessDeniedException>(() => Get<AccountSessions>().SignOutEverywhereAsync(CallerOf(user), admin.Id));
        await Get<AccountSessions>().SignOutEverywhereAsync(CallerOf(admin), user.Id);

        await AssertSignedOutAsync(first);
        await AssertSignedOutAsync(second);
        var audit = await Get<AuditLog>().PageAsync(0, 200);
        Assert.Contains(audit.Items, e => e.Action == AuditActions.SignOutEverywhere && e.ActorUserId == admin.Id && e.Detail == user.Email);
    }

    [Fact]
    public async Task A_deactivated_user_loses_cookie_and_api_token_and_cannot_sign_in_until_reactivated()
    {
        var admin = await NewUserAsync(platformAdmin: true);
        var user = await NewUserAsync();
        var (_, copy) = await SignInWithCopyAsync(user);
        var token = (await Get<ApiTokens>().CreateAsync(user.Id)).Token;
        using var api = new HttpClient { BaseAddress = _host.WebAddress };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/environments")).StatusCode);

        await Get<AccountSessions>().SetDeactivatedAsync(CallerOf(admin), user.Id, deactivated: true);

        await AssertSignedOutAsync(copy);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/api/v1/environments")).StatusCode);
        using var session = new BrowserlessSession(_host.WebAddress);
        var refused = await session.SignInAsync(user.Email, Password);
        Assert.Contains("error=deactivated", refused.Headers.Location!.OriginalString);
        Assert.Contains("This account is deactivated.", await (await session.Http.GetAsync(refused.Headers.Location)).Content.ReadAsStringAsync());

        await Get<AccountSessions>().SetDeactivatedAsync(CallerOf(admin), user.Id, deactivated: false);
        Assert.Equal("/", (await session.SignInAsync(user.Email, Password)).Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/environments")).StatusCode);
    }
}
