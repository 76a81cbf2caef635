using System.Text.RegularExpressions;
using Mailtest.Core.Capture;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Mailtest.Tests.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Mailtest.Tests.E2E;

/// <summary>The Mailtest tab's SMTP fault injection and webhook sections, as a manager uses them in Chromium.</summary>
[TestCategory(Needs.Browser)]
public sealed class EnvironmentSettingsBrowserTests(ChromiumBrowser chromium)
{
    private const string AdminEmail = "admin@example.test";
    private const string AdminPassword = "a long admin password";

    [Fact]
    public async Task Fault_injection_shows_a_banner_and_a_webhook_is_set_tested_and_logged()
    {
        await using var host = await MailtestTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Mailtest:Setup:AdminEmail"] = AdminEmail, ["Mailtest:Setup:AdminPassword"] = AdminPassword,
            ["Mailtest:Webhooks:AllowPrivateAddresses"] = "true",
        });
        await using var listener = await WebhookListener.StartAsync();
        var administration = host.Services.GetRequiredService<TenancyAdministration>();
        var organization = await administration.CreateOrganizationAsync("Acme", Plan.Pro);
        await administration.AddMemberAsync(organization.Id, AdminEmail, OrganizationRole.Owner);
        var project = await administration.CreateProjectAsync(organization.Id, "Webshop");
        var environment = await administration.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
        await host.Services.EnableMailtestAsync(environment.Id);

        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(new Uri(host.WebAddress, "/environments").ToString());
        await page.FillAsync("#email", AdminEmail);
        await page.FillAsync("#password", AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.UntilAtAsync(new Regex("/environments$"));
        await page.GotoAsync(new Uri(host.WebAddress, $"/environments/{environment.Id}?tab=mailtest").ToString());
        await page.Locator("#blazor-interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });

        // Off by default: no banner. RCPT TO answers 550 in every attempt once saved, and the banner says so.
        await Expect(page.Locator("[data-testid=smtp-faults]")).ToBeVisibleAsync();
        Assert.Equal(0, await page.Locator("[data-testid=smtp-faults-banner]").CountAsync());
        await Field(page, "fault-recipient-code").FillAsync("550");
        await page.Keyboard.PressAsync("Tab");
        await Field(page, "fault-recipient-probability").FillAsync("100");
        await page.Keyboard.PressAsync("Tab");
        await page.ClickAsync("[data-testid=smtp-faults-save]");
        await Expect(page.Locator("[data-testid=smtp-faults-banner]")).ToContainTextAsync("RCPT TO answers 550 in 100% of attempts");

        // A webhook: the secret is shown once; "Send test" posts to the listener and the log shows the answer.
        await Field(page, "webhook-url").FillAsync(listener.Url.ToString());
        await page.Keyboard.PressAsync("Tab");
        await page.ClickAsync("[data-testid=webhook-save]");
        await Expect(page.Locator("[data-testid=webhook-secret-value]")).ToContainTextAsync("whsec_");
        await page.ClickAsync("[data-testid=webhook-send-test]");
        var received = await listener.NextAsync();
        Assert.Equal("webhook.test", received.Headers["Mailtest-Event"]);
        await Expect(page.Locator("[data-testid=webhook-delivery]").First).ToContainTextAsync("200");
        await Expect(page.Locator("[data-testid=webhook-delivery]").First).ToContainTextAsync("webhook.test");
    }

    private static ILocator Field(IPage page, string testId) =>
        page.Locator($"input[data-testid={testId}], [data-testid={testId}] input").First;

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
