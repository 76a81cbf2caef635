using System.Text.RegularExpressions;
using System.Diagnostics;
using System.Net;
using Mailtest.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Mailtest.Tests.E2E;

/// <summary>
/// The whole Mailtest lifecycle as a user meets it, in real Chromium against the real host, with
/// mail sent by Python's smtplib the way Odoo sends it. Also takes the screenshots shown in the README.
/// </summary>
[TestCategory(Needs.Browser)]
public sealed class LifecycleBrowserTests(ChromiumBrowser chromium)
{
    private const string AdminEmail = "admin@example.test";
    private const string AdminPassword = "a long admin password";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Sign_in_create_an_environment_enable_send_rotate_and_disable()
    {
        var smtpPort = PostgresServer.FreeLoopbackPort();
        await using var host = await MailtestTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Mailtest:Setup:AdminEmail"] = AdminEmail, ["Mailtest:Setup:AdminPassword"] = AdminPassword,
            ["Mailtest:Smtp:Port"] = smtpPort.ToString(), ["Mailtest:Smtp:PublicHost"] = "127.0.0.1",
        });
        var administration = host.Services.GetRequiredService<TenancyAdministration>();
        var organization = await administration.CreateOrganizationAsync("Acme Agency", Plan.Pro);
        await administration.AddMemberAsync(organization.Id, AdminEmail, OrganizationRole.Owner);
        var webshop = await administration.CreateProjectAsync(organization.Id, "Webshop");
        var production = await administration.CreateEnvironmentAsync(webshop.Id, "production", EnvironmentKind.Production);

        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);

        // Sign in on the static form.
        await page.GotoAsync(new Uri(host.WebAddress, "/environments").ToString());
        Assert.Contains("/signin", page.Url);
        await page.FillAsync("#email", AdminEmail);
        await page.FillAsync("#password", AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.UntilAtAsync(new Regex("/environments$"));
        await WaitInteractiveAsync(page);

        // Production says why it cannot be enabled, and the button stays disabled.
        await page.GotoAsync(new Uri(host.WebAddress, $"/environments/{production.Id}?tab=mailtest").ToString());
        await WaitInteractiveAsync(page);
        await Expect(page.Locator("[data-testid=cannot-enable]")).ToContainTextAsync("Mailtest cannot be enabled on production environments");
        await Expect(page.Locator("[data-testid=enable-mailtest]")).ToBeDisabledAsync();

        // Create an environment.
        await page.GotoAsync(new Uri(host.WebAddress, "/environments").ToString());
        await WaitInteractiveAsync(page);
        await page.FillAsync("input[data-testid=new-env-name], [data-testid=new-env-name] input", "staging-eu");
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.Locator("[data-testid=new-env-create]")).ToBeEnabledAsync(); // the name has reached the server
        await page.ClickAsync("[data-testid=new-env-create]");
        await page.UntilAtAsync(new Regex("/environments/[0-9a-f-]{36}$"));
        await WaitInteractiveAsync(page);
        await Expect(page.Locator("h4")).ToContainTextAsync("staging-eu");

        // Enable Mailtest: consent, then the one-time reveal.
        await page.Locator(".mud-tab", new() { HasText = "Mailtest" }).ClickAsync();
        await page.ClickAsync("[data-testid=enable-mailtest]");
        var consent = page.Locator("[data-testid=consent-dialog]");
        await Expect(consent).ToContainTextAsync("no Odoo connection");
        await ScreenshotAsync(page, "consent-dialog.png");
        await page.ClickAsync("[data-testid=consent-confirm]");
        await Expect(page.Locator("[data-testid=credential-reveal-dialog]")).ToBeVisibleAsync();
        var revealedHost = await page.InnerTextAsync("[data-testid=reveal-host]");
        var revealedPort = int.Parse(await page.InnerTextAsync("[data-testid=reveal-port]"));
        var username = await page.InnerTextAsync("[data-testid=reveal-username]");
        var firstPassword = await page.InnerTextAsync("[data-testid=reveal-password]");
        Assert.Equal(("127.0.0.1", smtpPort, "STARTTLS"), (revealedHost, revealedPort, await page.InnerTextAsync("[data-testid=reveal-encryption]")));
        await ScreenshotAsync(page, "credential-reveal-dialog.png");
        await page.ClickAsync("[data-testid=reveal-close]");
        await Expect(page.Locator("[data-testid=credential-reveal-dialog]")).ToHaveCountAsync(0);
        await Expect(page.Locator("[data-testid=mailtest-state]")).ToHaveTextAsync("Enabled");
        await Expect(page.Locator("[data-testid=mailtest-username]")).ToHaveTextAsync(username);

        // Odoo's way of sending, with the revealed credentials.
        var sent = await SendWithSmtplibAsync(revealedHost, revealedPort, username, firstPassword, "Quotation S00042");
        Assert.True(sent.ExitCode == 0, sent.Output);
        var environmentId = Guid.Parse(page.Url.Split('/').Last().Split('?')[0]);
        Assert.Equal(1, await host.Services.GetRequiredService<IMessageStore>().CountAsync(environmentId));
        await page.GotoAsync(new Uri(host.WebAddress, $"/environments/{environmentId}?tab=mailtest").ToString());
        await WaitInteractiveAsync(page);
        await Expect(page.Locator("[data-testid=mailtest-count]")).ToHaveTextAsync("1");
        await ScreenshotAsync(page, "mailtest-tab.png");

        // Rotate: the old password is refused, the new one accepted.
        await page.ClickAsync("[data-testid=rotate-credentials]");
        await Expect(page.Locator("[data-testid=rotate-dialog]")).ToContainTextAsync("SMTP AUTH is temporarily blocked");
        await ScreenshotAsync(page, "rotate-dialog.png");
        await page.ClickAsync("[data-testid=rotate-confirm]");
        await Expect(page.Locator("[data-testid=credential-reveal-dialog]")).ToBeVisibleAsync();
        var newPassword = await page.InnerTextAsync("[data-testid=reveal-password]");
        Assert.NotEqual(firstPassword, newPassword);
        await page.ClickAsync("[data-testid=reveal-close]");

        var withOld = await SendWithSmtplibAsync(revealedHost, revealedPort, username, firstPassword, "Should be refused");
        Assert.True(withOld.ExitCode != 0 && withOld.Output.Contains("535"), withOld.Output);
        var withNew = await SendWithSmtplibAsync(revealedHost, revealedPort, username, newPassword, "Invoice INV/2026/0001");
        Assert.True(withNew.ExitCode == 0, withNew.Output);

        // Disable: the dialog says what is kept; the credentials stop working at once.
        await page.ClickAsync("[data-testid=disable-mailtest]");
        await Expect(page.Locator("[data-testid=disable-kept]")).ToContainTextAsync("2 captured emails will be kept until");
        await ScreenshotAsync(page, "disable-dialog.png");
        await page.ClickAsync("[data-testid=disable-confirm]");
        await Expect(page.Locator("[data-testid=enable-mailtest]")).ToBeVisibleAsync();
        var afterDisable = await SendWithSmtplibAsync(revealedHost, revealedPort, username, newPassword, "Should be refused too");
        Assert.True(afterDisable.ExitCode != 0 && afterDisable.Output.Contains("535"), afterDisable.Output);
        Assert.Equal(2, await host.Services.GetRequiredService<IMessageStore>().CountAsync(environmentId));
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    /// <summary>Waits until the page's circuit is live, so clicks reach the components.</summary>
    private static Task WaitInteractiveAsync(IPage page) =>
        page.Locator("#blazor-interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });

    /// <summary>Screenshots go to a temporary folder; set MAILTEST_SCREENSHOTS=docs/screenshots to refresh the README's.</summary>
    private static async Task ScreenshotAsync(IPage page, string name)
    {
        var directory = Environment.GetEnvironmentVariable("MAILTEST_SCREENSHOTS") ?? Path.Combine(Path.GetTempPath(), "mailtest-screenshots");
        Directory.CreateDirectory(directory);
        await page.ScreenshotAsync(new() { Path = Path.Combine(directory, name) });
    }

    // SMTP(host, port), starttls(), login(), send_message: the calls Odoo's ir.mail_server makes.
    private const string SmtplibScript = """
        import smtplib, sys
        from email.message import EmailMessage
        host, port, user, password, subject = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = "Sales <sales@company.example>"
        message["To"] = "customer@client.example"
        message.set_content("Dear customer,\nplease find your document attached.\n")
        connection = smtplib.SMTP(host, port, timeout=30)
        connection.starttls()
        connection.login(user, password)
        connection.send_message(message)
        connection.quit()
        """;

    private static async Task<(int ExitCode, string Output)> SendWithSmtplibAsync(string host, int port, string username, string password, string subject)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-c", SmtplibScript, host, port.ToString(), username, password, subject }) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
