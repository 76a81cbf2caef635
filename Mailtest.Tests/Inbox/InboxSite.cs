using System.Net;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Mailtest.Web.Hosting;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using MimeKit;

using Mailtest.Tests.Infrastructure;

namespace Mailtest.Tests.Inbox;

/// <summary>
/// The real Mailtest host (Kestrel HTTP and SMTP on loopback ports, SQLite, the real store, sign-in
/// and AccessRules) with organization "Acme" / project "Shop" / environments "Staging" and "Dev"
/// (Mailtest enabled, SMTP credentials issued), a member who may view them, and a second
/// organization whose mail the member must never see. Mail arrives over SMTP (MailKit, STARTTLS).
/// </summary>
public sealed class InboxSite : IAsyncLifetime
{
    public const string MemberPassword = "a long password 1";
    private MailtestTestHost? _host;
    private readonly Dictionary<Guid, IssuedCredential> _credentials = [];

    public IServiceProvider Services => _host!.Services;
    public Uri WebAddress => _host!.WebAddress;
    public string DataDirectory => _host!.DataDirectory;
    public Uri InboxAddress => new(WebAddress, "dashboard/mailtest");
    public IMessageStore Store => Services.GetRequiredService<IMessageStore>();
    public Organization Acme { get; private set; } = default!;
    public ProjectEnvironment Staging { get; private set; } = default!;
    public ProjectEnvironment Dev { get; private set; } = default!;
    public ProjectEnvironment Foreign { get; private set; } = default!;
    public UserAccount Member { get; private set; } = default!;

    public async ValueTask InitializeAsync()
    {
        _host = await MailtestTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Mailtest:Smtp:PublicHost"] = "mail.acme.test",
            ["Mailtest:Smtp:PublicPort"] = "587",
        });
        await SeedAsync();
    }

    private async Task SeedAsync()
    {
        var tenancy = Services.GetRequiredService<TenancyAdministration>();
        Acme = await tenancy.CreateOrganizationAsync("Acme", Plan.Pro);
        var shop = await tenancy.CreateProjectAsync(Acme.Id, "Shop");
        Staging = await tenancy.CreateEnvironmentAsync(shop.Id, "Staging", EnvironmentKind.Staging);
        Dev = await tenancy.CreateEnvironmentAsync(shop.Id, "Dev", EnvironmentKind.Development);
        var other = await tenancy.CreateOrganizationAsync("Other", Plan.Pro);
        Foreign = await tenancy.CreateEnvironmentAsync((await tenancy.CreateProjectAsync(other.Id, "Secret")).Id, "Staging", EnvironmentKind.Staging);
        foreach (var environment in new[] { Staging, Dev, Foreign })
            _credentials[environment.Id] = await Services.EnableMailtestAsync(environment.Id);
        Member = await tenancy.CreateUserAsync("member@acme.test", MemberPassword, isPlatformAdmin: false);
        await tenancy.AddMemberAsync(Acme.Id, Member.Email, OrganizationRole.Member);
        // A plain member who holds project.mailtest.view on the project, and nothing in the other organization.
        await using var db = await Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        db.ProjectGrants.Add(new ProjectGrant { ProjectId = shop.Id, UserId = Member.Id, Permission = ProjectPermission.MailtestView });
        await db.SaveChangesAsync();
    }

    /// <summary>A new user, owner of a new organization with one Mailtest-enabled environment and no mail yet.</summary>
    public async Task<(string Email, string Username)> NewcomerAsync()
    {
        var tenancy = Services.GetRequiredService<TenancyAdministration>();
        var organization = await tenancy.CreateOrganizationAsync($"Newcomer {Guid.NewGuid():N}"[..18], Plan.Starter);
        var project = await tenancy.CreateProjectAsync(organization.Id, "Website");
        var environment = await tenancy.CreateEnvironmentAsync(project.Id, "Staging", EnvironmentKind.Staging);
        var credential = await Services.EnableMailtestAsync(environment.Id);
        var email = $"new-{Guid.NewGuid():N}@example.test";
        await tenancy.CreateUserAsync(email, MemberPassword, isPlatformAdmin: false);
        await tenancy.AddMemberAsync(organization.Id, email, OrganizationRole.Owner);
        return (email, credential.Username);
    }

    /// <summary>A new Mailtest-enabled environment (credentials issued, so <see cref="SendAsync"/> can send into it).</summary>
    public async Task<ProjectEnvironment> NewEnvironmentAsync(Guid projectId, string name)
    {
        var environment = await Services.GetRequiredService<TenancyAdministration>().CreateEnvironmentAsync(projectId, name, EnvironmentKind.Staging);
        _credentials[environment.Id] = await Services.EnableMailtestAsync(environment.Id);
        return environment;
    }

    public string UsernameOf(ProjectEnvironment environment) => _credentials[environment.Id].Username;

    /// <summary>
    /// Sends a message into an environment over SMTP (STARTTLS, AUTH) and returns once it is accepted
    /// (durable) and free-text search finds it (the index follows the commit by a moment).
    /// </summary>
    public async Task SendAsync(ProjectEnvironment environment, MimeMessage message, IEnumerable<string>? envelopeRecipients = null)
    {
        using var client = await ConnectAsync(environment);
        var recipients = (envelopeRecipients ?? message.To.Mailboxes.Select(m => m.Address)).Select(a => new MailboxAddress("", a));
        await client.SendAsync(message, message.From.Mailboxes.First(), recipients);
        await client.DisconnectAsync(true);
        await Services.GetRequiredService<IngestWriter>().WaitUntilSearchableAsync();
    }

    /// <summary>Sends several messages, in order, over one SMTP session.</summary>
    public async Task SendAllAsync(ProjectEnvironment environment, IEnumerable<MimeMessage> messages)
    {
        using var client = await ConnectAsync(environment);
        foreach (var message in messages) await client.SendAsync(message);
        await client.DisconnectAsync(true);
    }

    private async Task<SmtpClient> ConnectAsync(ProjectEnvironment environment)
    {
        var credential = _credentials[environment.Id];
        var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true }; // the generated self-signed certificate
        await client.ConnectAsync("127.0.0.1", Services.GetRequiredService<SmtpListeners>().StartTls!.Port, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(credential.Username, credential.Password);
        return client;
    }

    /// <summary>The captured message with this subject (the store's own search), for tests that need its id.</summary>
    public async Task<MessageListItem> FindAsync(ProjectEnvironment environment, string subject)
    {
        var page = await Store.ListAsync(new MessageListQuery([environment.Id], $"subject:\"{subject}\""));
        return Assert.Single(page.Items);
    }

    /// <summary>Signs the member in through the sign-in page and opens the inbox.</summary>
    public async Task<IPage> SignInToInboxAsync(IBrowserContext context, string? email = null)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(WebAddress, "signin?returnUrl=%2Fdashboard%2Fmailtest").ToString());
        await page.Locator("#email").FillAsync(email ?? Member.Email);
        await page.Locator("#password").FillAsync(MemberPassword);
        await page.Locator("button[type=submit]").ClickAsync();
        await page.Locator("#inbox[data-interactive=true]").WaitForAsync(new() { Timeout = 15_000 });
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }
}
