using System.Text.RegularExpressions;
using System.Net;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Inbox;
using Mailtest.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using MimeKit;

namespace Mailtest.Tests.Security;

/// <summary>
/// Revocation reaches a page that is already open, in real Chromium against the real host: a member
/// whose permission is taken away, who is removed from the organization or who is deactivated stops
/// seeing that mail at once (list, live arrivals, the environment selector), and the preview links
/// minted before stop working. Each test has its own member, so the shared site stays as it was.
/// </summary>
[TestCategory(Needs.Browser)]
public sealed class RevocationBrowserTests(InboxSite site, ChromiumBrowser chromium) : IClassFixture<InboxSite>
{
    private static readonly float Wait = 10_000;

    private T Get<T>() where T : notnull => site.Services.GetRequiredService<T>();

    private async Task<(UserAccount Member, Caller Owner)> NewMemberAsync()
    {
        var administration = Get<TenancyAdministration>();
        var owner = await administration.CreateUserAsync($"owner-{Guid.NewGuid():N}@acme.test", InboxSite.MemberPassword, isPlatformAdmin: false);
        await administration.AddMemberAsync(site.Acme.Id, owner.Email, OrganizationRole.Owner);
        var member = await administration.CreateUserAsync($"member-{Guid.NewGuid():N}@acme.test", InboxSite.MemberPassword, isPlatformAdmin: false);
        await administration.AddMemberAsync(site.Acme.Id, member.Email, OrganizationRole.Member);
        var ownerCaller = new Caller(owner.Id, owner.Email, false);
        await Get<TenancyDirectory>().SetGrantAsync(ownerCaller, site.Staging.ProjectId, member.Id, ProjectPermission.MailtestView, granted: true);
        return (member, ownerCaller);
    }

    private static MimeMessage Mail(string subject)
    {
        var message = new MimeMessage { Subject = subject };
        message.From.Add(MailboxAddress.Parse("orders@shop.example"));
        message.To.Add(MailboxAddress.Parse("anna@example.com"));
        message.Body = new BodyBuilder { HtmlBody = $"<p>{subject}</p>" }.ToMessageBody();
        return message;
    }

    private static ILocator Row(IPage page, string subject) => page.Locator(".inbox-message", new() { HasText = subject });

    /// <summary>Opens the member's inbox on a message and returns the page and the preview document's link.</summary>
    private async Task<(IPage Page, string PreviewLink, List<string> CspViolations)> OpenOnMessageAsync(IBrowserContext context, UserAccount member, string subject)
    {
        var page = await site.SignInToInboxAsync(context, member.Email);
        var violations = new List<string>();
        page.Console += (_, message) => { if (message.Text.Contains("Content Security Policy")) lock (violations) violations.Add(message.Text); };
        await Row(page, subject).ClickAsync();
        var frame = page.Locator("#inbox-html-frame");
        await frame.WaitForAsync(new() { Timeout = Wait });
        var link = new Uri(site.WebAddress, await frame.GetAttributeAsync("src")).ToString();
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(link)).StatusCode);
        return (page, link, violations);
    }

    [Fact]
    public async Task Taking_the_view_permission_away_empties_the_open_inbox_stops_live_mail_and_kills_preview_links()
    {
        var (member, owner) = await NewMemberAsync();
        var token = Guid.NewGuid().ToString("N")[..8];
        // A second project the member keeps: its mail is the proof that the page is still live.
        var blog = await Get<TenancyDirectory>().CreateProjectAsync(owner, site.Acme.Id, $"Blog {token}");
        var blogStaging = await site.NewEnvironmentAsync(blog.Id, "Blog staging");
        await Get<TenancyDirectory>().SetGrantAsync(owner, blog.Id, member.Id, ProjectPermission.MailtestView, granted: true);
        await site.SendAsync(site.Staging, Mail($"Before {token}"));
        await using var context = await chromium.NewContextAsync();
        var (page, previewLink, violations) = await OpenOnMessageAsync(context, member, $"Before {token}");
        await site.SendAsync(site.Staging, Mail($"Live {token}"));
        await Row(page, $"Live {token}").WaitForAsync(new() { Timeout = Wait });

        await Get<TenancyDirectory>().SetGrantAsync(owner, site.Staging.ProjectId, member.Id, ProjectPermission.MailtestView, granted: false);

        // The open page drops the project's mail and its preview without a reload...
        await Row(page, $"Before {token}").WaitForAsync(new() { State = WaitForSelectorState.Detached, Timeout = Wait });
        await Row(page, $"Live {token}").WaitForAsync(new() { State = WaitForSelectorState.Detached, Timeout = Wait });
        await page.Locator("#inbox-html-frame").WaitForAsync(new() { State = WaitForSelectorState.Detached, Timeout = Wait });
        Assert.DoesNotContain("Staging", await page.Locator("#inbox-environment").InnerTextAsync());
        // ...mail that arrives afterwards is not delivered to it (the blog message, sent later, is)...
        await site.SendAsync(site.Staging, Mail($"After {token}"));
        await site.SendAsync(blogStaging, Mail($"Blog {token}"));
        await Row(page, $"Blog {token}").WaitForAsync(new() { Timeout = Wait });
        Assert.Equal(0, await Row(page, $"After {token}").CountAsync());
        // ...and the preview link minted while they could read it is dead.
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(previewLink)).StatusCode);
        Assert.Empty(violations);
    }

    [Fact]
    public async Task Removal_from_the_organization_sends_the_open_inbox_to_sign_in()
    {
        var (member, owner) = await NewMemberAsync();
        var subject = $"Removal {Guid.NewGuid():N}";
        await site.SendAsync(site.Staging, Mail(subject));
        await using var context = await chromium.NewContextAsync();
        var (page, previewLink, _) = await OpenOnMessageAsync(context, member, subject);

        await Get<TenancyDirectory>().RemoveMemberAsync(owner, site.Acme.Id, member.Id);

        await page.UntilAtAsync(new Regex(@"/signin\?"), TimeSpan.FromMilliseconds(Wait));
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(previewLink)).StatusCode);
    }

    [Fact]
    public async Task A_deactivated_user_is_sent_from_the_open_inbox_to_sign_in()
    {
        var (member, _) = await NewMemberAsync();
        var admin = await Get<TenancyAdministration>().CreateUserAsync($"admin-{Guid.NewGuid():N}@example.test", InboxSite.MemberPassword, isPlatformAdmin: true);
        var subject = $"Deactivated {Guid.NewGuid():N}";
        await site.SendAsync(site.Staging, Mail(subject));
        await using var context = await chromium.NewContextAsync();
        var (page, previewLink, _) = await OpenOnMessageAsync(context, member, subject);

        await Get<AccountSessions>().SetDeactivatedAsync(new Caller(admin.Id, admin.Email, true), member.Id, deactivated: true);

        await page.UntilAtAsync(new Regex(@"/signin\?"), TimeSpan.FromMilliseconds(Wait));
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(previewLink)).StatusCode);
    }

    [Fact]
    public async Task A_kill_switch_thrown_on_another_node_reaches_the_open_inbox()
    {
        var (member, _) = await NewMemberAsync();
        var subject = $"Kill switch {Guid.NewGuid():N}";
        await site.SendAsync(site.Staging, Mail(subject));
        await using var context = await chromium.NewContextAsync();
        var (page, _, _) = await OpenOnMessageAsync(context, member, subject);
        var banner = page.Locator("[data-testid=kill-switch-banner]");
        Assert.Equal(0, await banner.CountAsync());

        // Another node shares the database: it writes the switch there, this node's KillSwitch raises nothing.
        await using (var db = await Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync())
        {
            db.PlatformSettings.Add(new PlatformSetting { Key = PlatformSetting.KillSwitchKey, Value = "on" });
            await db.SaveChangesAsync();
        }
        try
        {
            await banner.WaitForAsync(new() { Timeout = Wait });
            // Captured mail stays readable while Mailtest is off (the kill switch stops capture, not reading).
            Assert.Equal(1, await Row(page, subject).CountAsync());
        }
        finally
        {
            // Off again, through this node, so that its cached state is right for the next test at once.
            await Get<KillSwitch>().SetAsync(false);
        }
    }
}
