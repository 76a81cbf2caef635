using System.Text.RegularExpressions;
using System.IO.Compression;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailtest.Core.Capture;
using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using MimeKit;

namespace Mailtest.Tests.E2E;

/// <summary>The downgrade grace banner and "Download all as .zip" up to the downloaded file, in real Chromium against the real host.</summary>
[TestCategory(Needs.Browser)]
public sealed class RetentionBrowserTests(ChromiumBrowser chromium)
{
    private const string AdminEmail = "admin@example.test";
    private const string AdminPassword = "a long admin password";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_member_sees_the_grace_banner_with_its_date_and_downloads_all_mail_as_a_zip()
    {
        await using var host = await MailtestTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Mailtest:Setup:AdminEmail"] = AdminEmail, ["Mailtest:Setup:AdminPassword"] = AdminPassword,
        });
        var administration = host.Services.GetRequiredService<TenancyAdministration>();
        var organization = await administration.CreateOrganizationAsync("Acme Agency", Plan.Pro);
        await administration.AddMemberAsync(organization.Id, AdminEmail, OrganizationRole.Owner);
        var project = await administration.CreateProjectAsync(organization.Id, "Webshop");
        var environment = await administration.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
        var credential = await host.Services.EnableMailtestAsync(environment.Id);
        await SendAsync(host, credential, 3);
        var platformAdmin = new Caller(Guid.NewGuid(), "root@example.test", IsPlatformAdmin: true);
        var grace = await host.Services.GetRequiredService<PlanChanges>().ChangeAsync(platformAdmin, organization.Id, Plan.Starter);

        await using var context = await chromium.NewContextAsync(new BrowserNewContextOptions { AcceptDownloads = true, ViewportSize = new() { Width = 1400, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);
        await page.GotoAsync(new Uri(host.WebAddress, "/environments").ToString());
        await page.FillAsync("#email", AdminEmail);
        await page.FillAsync("#password", AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.UntilAtAsync(new Regex("/environments$"));
        await WaitInteractiveAsync(page);

        var banner = page.Locator("[data-testid=plan-grace-banner]");
        await Expect(banner).ToContainTextAsync("Acme Agency moved from Pro to Starter");
        await Expect(page.Locator("[data-testid=grace-deletion-date]")).ToHaveTextAsync(grace.GraceEndsUtc!.Value.ToString("MMMM d, yyyy"));
        await Expect(page.Locator("[data-testid=grace-change-plan]")).ToBeVisibleAsync(); // the set-up administrator is a platform administrator

        await page.ClickAsync("[data-testid=grace-download]");
        await page.UntilAtAsync(new Regex(@"/exports\?organization="));
        await WaitInteractiveAsync(page);
        await page.ClickAsync("[data-testid=export-start]");
        var link = page.Locator("[data-testid=export-download]");
        await Expect(link).ToBeVisibleAsync();
        var download = await page.RunAndWaitForDownloadAsync(() => link.ClickAsync());
        var path = Path.Combine(host.DataDirectory, "downloaded.zip");
        await download.SaveAsAsync(path);

        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(3, zip.Entries.Count(e => e.FullName.StartsWith("Webshop-staging/", StringComparison.Ordinal) && e.Name.EndsWith(".eml", StringComparison.Ordinal)));
        Assert.NotNull(zip.GetEntry("manifest.json"));
    }

    [Fact]
    public async Task Clearing_by_hand_says_how_many_messages_match_before_deleting_them()
    {
        await using var host = await MailtestTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Mailtest:Setup:AdminEmail"] = AdminEmail, ["Mailtest:Setup:AdminPassword"] = AdminPassword,
        });
        var administration = host.Services.GetRequiredService<TenancyAdministration>();
        var organization = await administration.CreateOrganizationAsync("Acme Agency", Plan.Pro);
        await administration.AddMemberAsync(organization.Id, AdminEmail, OrganizationRole.Owner);
        var project = await administration.CreateProjectAsync(organization.Id, "Webshop");
        var environment = await administration.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
        var credential = await host.Services.EnableMailtestAsync(environment.Id);
        await SendAsync(host, credential, 12); // Order 0 … Order 11

        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);
        await page.GotoAsync(new Uri(host.WebAddress, $"/environments/{environment.Id}?tab=mailtest").ToString());
        await page.FillAsync("#email", AdminEmail);
        await page.FillAsync("#password", AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.UntilAtAsync(new Regex($"/environments/{environment.Id}"));
        await WaitInteractiveAsync(page);
        await page.Locator(".mud-tab", new() { HasText = "Mailtest" }).ClickAsync();
        await Expect(page.Locator("[data-testid=plan-usage]")).ToContainTextAsync("12 of 10,000 messages");

        await page.FillAsync("input[data-testid=clear-messages-search], [data-testid=clear-messages-search] input", "\"Order 1\"");
        await page.Keyboard.PressAsync("Tab");
        await page.ClickAsync("[data-testid=clear-messages-start]");
        await Expect(page.Locator("[data-testid=clear-messages-count]")).ToContainTextAsync("3 messages match"); // Order 1, 10, 11
        await page.ClickAsync("[data-testid=clear-messages-confirm]");
        await Expect(page.Locator("[data-testid=clear-messages-result]")).ToHaveTextAsync("Deleted 3 messages.");
        await Expect(page.Locator("[data-testid=mailtest-count]")).ToHaveTextAsync("9");

        await page.ClickAsync("input[data-testid=clear-messages-search], [data-testid=clear-messages-search] input", new() { ClickCount = 3 });
        await page.Keyboard.PressAsync("Backspace");
        await page.Keyboard.PressAsync("Tab");
        await page.ClickAsync("[data-testid=clear-messages-start]");
        await Expect(page.Locator("[data-testid=clear-messages-count]")).ToContainTextAsync("All 9 captured messages");
        await page.ClickAsync("[data-testid=clear-messages-confirm]");
        await Expect(page.Locator("[data-testid=mailtest-count]")).ToHaveTextAsync("0");
    }

    private static async Task SendAsync(MailtestTestHost host, IssuedCredential credential, int count)
    {
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15_000 };
        await client.ConnectAsync("127.0.0.1", host.Services.GetRequiredService<SmtpListeners>().StartTls!.Port, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(credential.Username, credential.Password);
        for (var i = 0; i < count; i++)
        {
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("shop@acme.example"));
            message.To.Add(MailboxAddress.Parse("customer@client.example"));
            message.Subject = $"Order {i}";
            message.Body = new TextPart("plain") { Text = "Thanks." };
            await client.SendAsync(message);
        }
        await client.DisconnectAsync(quit: true);
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static Task WaitInteractiveAsync(IPage page) =>
        page.Locator("#blazor-interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
}
