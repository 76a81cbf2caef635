using System.Net;
using Mailtest.Core.Audit;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Accounts;

/// <summary>Cookie sign-in on the static form, lockout, antiforgery and sign-out, over real HTTP.</summary>
[TestCategory(Needs.Host)]
public sealed class SignInTests : IAsyncLifetime
{
    private MailtestTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await MailtestTestHost.StartAsync();
    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private async Task<string> NewUserAsync(string password = "correct horse battery")
    {
        var email = $"user-{Guid.NewGuid():N}@example.test";
        await _host.Services.GetRequiredService<TenancyAdministration>().CreateUserAsync(email, password, isPlatformAdmin: false);
        return email;
    }

    [Fact]
    public async Task Pages_send_an_anonymous_visitor_to_the_sign_in_page()
    {
        await NewUserAsync(); // setup is done, so /signin is shown rather than /setup
        using var session = new BrowserlessSession(_host.WebAddress);

        var response = await session.Http.GetAsync("/account");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith("/signin", response.Headers.Location!.PathAndQuery);
    }

    [Fact]
    public async Task The_right_password_signs_in_and_sign_out_ends_the_session()
    {
        var email = await NewUserAsync();
        using var session = new BrowserlessSession(_host.WebAddress);

        var signIn = await session.SignInAsync(email.ToUpperInvariant(), "correct horse battery");
        Assert.Equal(HttpStatusCode.Found, signIn.StatusCode);
        Assert.Equal("/", signIn.Headers.Location!.OriginalString);

        var account = await session.Http.GetAsync("/account");
        Assert.Equal(HttpStatusCode.OK, account.StatusCode);
        Assert.Contains(email, await account.Content.ReadAsStringAsync());

        var signOut = await session.SubmitFormAsync("/signin", "/account/signout", new Dictionary<string, string>());
        Assert.Equal(HttpStatusCode.Found, signOut.StatusCode);
        Assert.Equal(HttpStatusCode.Found, (await session.Http.GetAsync("/account")).StatusCode);
    }

    [Fact]
    public async Task A_wrong_password_is_refused_and_written_to_the_audit_log()
    {
        var email = await NewUserAsync();
        using var session = new BrowserlessSession(_host.WebAddress);

        var response = await session.SignInAsync(email, "not the password");

        Assert.Contains("error=invalid", response.Headers.Location!.OriginalString);
        var page = await session.Http.GetAsync(response.Headers.Location);
        Assert.Contains("Wrong email or password.", await page.Content.ReadAsStringAsync());
        var audit = await _host.Services.GetRequiredService<AuditLog>().PageAsync(0, 200);
        Assert.Contains(audit.Items, e => e.Action == AuditActions.SignInFailed && e.Actor == email && e.RemoteAddress == "127.0.0.1");
    }

    [Fact]
    public async Task A_sign_in_post_without_the_antiforgery_token_is_rejected()
    {
        var email = await NewUserAsync();
        using var session = new BrowserlessSession(_host.WebAddress);

        var response = await session.Http.PostAsync("/account/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["email"] = email, ["password"] = "correct horse battery",
        }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.Found, (await session.Http.GetAsync("/account")).StatusCode);
    }

    [Fact]
    public async Task A_return_address_outside_the_site_is_ignored()
    {
        var email = await NewUserAsync();
        using var session = new BrowserlessSession(_host.WebAddress);

        var response = await session.SubmitFormAsync("/signin", "/account/signin", new Dictionary<string, string>
        {
            ["email"] = email, ["password"] = "correct horse battery", ["returnUrl"] = "//evil.example/",
        });

        Assert.Equal("/", response.Headers.Location!.OriginalString);
    }
}
