using System.Net.Http.Headers;
using MailKit.Net.Smtp;
using Mailtest.Core.Capture;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Infrastructure;

/// <summary>
/// One organization on a running host with Mailtest enabled on a staging environment: its SMTP
/// credentials, an owner's API client, and a member's client that holds only project.mailtest.view.
/// </summary>
public sealed record SandboxWorld(
    MailtestTestHost Host, Guid OrganizationId, Guid ProjectId, Guid EnvironmentId, IssuedCredential Credential,
    HttpClient Owner, HttpClient Viewer, UserAccount OwnerUser, string OwnerToken)
{
    public static async Task<SandboxWorld> CreateAsync(MailtestTestHost host)
    {
        var tenancy = host.Services.GetRequiredService<TenancyAdministration>();
        var organization = await tenancy.CreateOrganizationAsync("Acme " + Guid.NewGuid().ToString("N")[..6], Plan.Pro);
        var project = await tenancy.CreateProjectAsync(organization.Id, "Shop");
        var environment = await tenancy.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
        var credential = await host.Services.EnableMailtestAsync(environment.Id);
        var (owner, ownerUser) = await ClientAsync(host, organization.Id, OrganizationRole.Owner);
        var ownerToken = owner.DefaultRequestHeaders.Authorization!.Parameter!;
        var (viewer, viewerUser) = await ClientAsync(host, organization.Id, OrganizationRole.Member);
        var db = await host.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<Mailtest.Core.Data.MailtestDbContext>>().CreateDbContextAsync();
        await using (db)
        {
            db.ProjectGrants.Add(new ProjectGrant { ProjectId = project.Id, UserId = viewerUser.Id, Permission = ProjectPermission.MailtestView });
            await db.SaveChangesAsync();
        }
        return new SandboxWorld(host, organization.Id, project.Id, environment.Id, credential, owner, viewer, ownerUser, ownerToken);
    }

    /// <summary>A client for a user of another organization (or none).</summary>
    public static async Task<(HttpClient Client, UserAccount User)> ClientAsync(MailtestTestHost host, Guid? organizationId, OrganizationRole role = OrganizationRole.Member)
    {
        var tenancy = host.Services.GetRequiredService<TenancyAdministration>();
        var user = await tenancy.CreateUserAsync($"u-{Guid.NewGuid():N}@example.test", "long enough password", false);
        if (organizationId is { } id) await tenancy.AddMemberAsync(id, user.Email, role);
        var token = await host.Services.GetRequiredService<ApiTokens>().CreateAsync(user.Id, "tests");
        var client = new HttpClient { BaseAddress = host.WebAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        return (client, user);
    }

    public int SmtpPort => Host.Services.GetRequiredService<SmtpListeners>().StartTls!.Port;

    /// <summary>A MailKit client connected with STARTTLS (the host's certificate is self-signed), not yet authenticated.</summary>
    public async Task<SmtpClient> ConnectAsync()
    {
        var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15_000 };
        await client.ConnectAsync("127.0.0.1", SmtpPort, MailKit.Security.SecureSocketOptions.StartTls);
        return client;
    }

    /// <summary>Sends one message over SMTP with the environment's credentials, as an application would.</summary>
    public async Task SendAsync(MimeKit.MimeMessage message)
    {
        using var client = await ConnectAsync();
        await client.AuthenticateAsync(Credential.Username, Credential.Password);
        await client.SendAsync(message);
        await client.DisconnectAsync(true);
    }
}
