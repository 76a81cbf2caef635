using System.Net.Http.Headers;
using Mailtest.Core.Capture;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Mailtest.Tests.Infrastructure;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Mailtest.Tests.Api;

/// <summary>
/// The real host (Kestrel HTTP + SMTP on loopback, SQLite) shared by a test class. Each test asks for
/// its own <see cref="ApiScene"/>: a fresh organization whose staging environment has SMTP credentials,
/// an owner's user token, read and read-write environment tokens, and a second organization.
/// </summary>
public sealed class ApiSite : IAsyncLifetime
{
    public const string OwnerPassword = "long enough password";
    private MailtestTestHost? _host;

    public IServiceProvider Services => _host!.Services;
    public Uri WebAddress => _host!.WebAddress;

    public async ValueTask InitializeAsync() => _host = await MailtestTestHost.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }

    public HttpClient Client(string? token)
    {
        var client = new HttpClient { BaseAddress = WebAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async Task<ApiScene> SceneAsync(Plan plan = Plan.Pro)
    {
        var tenancy = Services.GetRequiredService<TenancyAdministration>();
        var tokens = Services.GetRequiredService<ApiTokens>();
        var organization = await tenancy.CreateOrganizationAsync("Acme " + Guid.NewGuid().ToString("N")[..6], plan);
        var project = await tenancy.CreateProjectAsync(organization.Id, "Shop");
        var staging = await tenancy.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
        var dev = await tenancy.CreateEnvironmentAsync(project.Id, "dev", EnvironmentKind.Development);
        var credential = await Services.EnableMailtestAsync(staging.Id);
        var owner = await tenancy.CreateUserAsync($"owner-{Guid.NewGuid():N}@example.test", OwnerPassword, false);
        await tenancy.AddMemberAsync(organization.Id, owner.Email, OrganizationRole.Owner);
        var ownerToken = await tokens.CreateAsync(owner.Id, "owner");
        var ownerCaller = new Caller(owner.Id, owner.Email, false);
        var read = await tokens.CreateForEnvironmentAsync(ownerCaller, staging.Id, ApiTokenScope.Read, "CI read");
        var write = await tokens.CreateForEnvironmentAsync(ownerCaller, staging.Id, ApiTokenScope.ReadWrite, "CI seed");
        var devRead = await tokens.CreateForEnvironmentAsync(ownerCaller, dev.Id, ApiTokenScope.ReadWrite, "dev CI");

        var otherOrganization = await tenancy.CreateOrganizationAsync("Other " + Guid.NewGuid().ToString("N")[..6], Plan.Pro);
        var otherProject = await tenancy.CreateProjectAsync(otherOrganization.Id, "Secret");
        var foreign = await tenancy.CreateEnvironmentAsync(otherProject.Id, "staging", EnvironmentKind.Staging);
        var foreignCredential = await Services.EnableMailtestAsync(foreign.Id);
        var stranger = await tenancy.CreateUserAsync($"stranger-{Guid.NewGuid():N}@example.test", "long enough password", false);
        await tenancy.AddMemberAsync(otherOrganization.Id, stranger.Email, OrganizationRole.Owner);
        var strangerToken = await tokens.CreateAsync(stranger.Id, "stranger");

        return new ApiScene(this, organization.Id, staging.Id, dev.Id, foreign.Id, credential, foreignCredential, ownerCaller, owner.Email,
            Client(ownerToken.Token), Client(read.Token), Client(write.Token), Client(devRead.Token), Client(strangerToken.Token),
            read.Token, write.Token);
    }

    /// <summary>Sends over SMTP (STARTTLS, AUTH) with MailKit; returns once the server accepted it (durable).</summary>
    public async Task SendAsync(IssuedCredential credential, MimeMessage message, IEnumerable<string>? envelopeRecipients = null)
    {
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true }; // the generated self-signed certificate
        await client.ConnectAsync("127.0.0.1", Services.GetRequiredService<SmtpListeners>().StartTls!.Port, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(credential.Username, credential.Password);
        var recipients = (envelopeRecipients ?? message.To.Mailboxes.Select(m => m.Address)).Select(a => new MailboxAddress("", a));
        await client.SendAsync(message, message.From.Mailboxes.First(), recipients);
        await client.DisconnectAsync(true);
    }

    public static MimeMessage Mail(string subject, string body = "Hello there.", string to = "alice@example.com") =>
        MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Messages.SampleMail.Plain(subject, body, to: to))));
}

public sealed record ApiScene(
    ApiSite Site, Guid OrganizationId, Guid StagingId, Guid DevId, Guid ForeignId, IssuedCredential Smtp, IssuedCredential ForeignSmtp, Caller OwnerCaller, string OwnerEmail,
    HttpClient Owner, HttpClient Read, HttpClient Write, HttpClient DevToken, HttpClient Stranger, string ReadToken, string WriteToken)
{
    public string Messages => $"/api/v1/environments/{StagingId}/messages";

    public Task SendAsync(string subject, string body = "Hello there.", string to = "alice@example.com") =>
        Site.SendAsync(Smtp, ApiSite.Mail(subject, body, to));
}
