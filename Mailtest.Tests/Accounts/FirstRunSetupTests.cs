using System.Net;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Accounts;

[TestCategory(Needs.Host)]
public sealed class FirstRunSetupTests
{
    [Fact]
    public async Task An_empty_installation_asks_for_the_first_administrator_once()
    {
        await using var host = await MailtestTestHost.StartAsync();
        using var session = new BrowserlessSession(host.WebAddress);

        var signInPage = await session.Http.GetAsync("/signin");
        Assert.Equal(HttpStatusCode.Found, signInPage.StatusCode);
        Assert.Equal("/setup", signInPage.Headers.Location!.AbsolutePath);

        var mismatch = await session.SubmitFormAsync("/setup", "/account/setup", new Dictionary<string, string>
        {
            ["email"] = "admin@example.test", ["password"] = "a long password", ["confirmPassword"] = "another password",
        });
        Assert.Contains("differ", Uri.UnescapeDataString(mismatch.Headers.Location!.OriginalString));

        var created = await session.SubmitFormAsync("/setup", "/account/setup", new Dictionary<string, string>
        {
            ["email"] = "admin@example.test", ["password"] = "a long password", ["confirmPassword"] = "a long password",
        });
        Assert.Equal("/organizations", created.Headers.Location!.OriginalString);
        var account = await session.Http.GetAsync("/account");
        Assert.Equal(HttpStatusCode.OK, account.StatusCode);

        // Setup is closed now: the page sends everyone to sign in, and the endpoint refuses.
        using var stranger = new BrowserlessSession(host.WebAddress);
        Assert.Equal("/signin", (await stranger.Http.GetAsync("/setup")).Headers.Location!.AbsolutePath);
        await Assert.ThrowsAsync<TenancyException>(() =>
            host.Services.GetRequiredService<FirstRunSetup>().CreateFirstAdministratorAsync("second@example.test", "a long password"));
    }

    [Fact]
    public async Task Configuration_can_create_the_first_administrator_for_unattended_installs()
    {
        await using var host = await MailtestTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Mailtest:Setup:AdminEmail"] = "ops@example.test", ["Mailtest:Setup:AdminPassword"] = "from configuration",
        });
        using var session = new BrowserlessSession(host.WebAddress);

        var response = await session.SignInAsync("ops@example.test", "from configuration");

        Assert.Equal("/", response.Headers.Location!.OriginalString);
        Assert.Contains("Platform", await (await session.Http.GetAsync("/")).Content.ReadAsStringAsync());
    }
}
