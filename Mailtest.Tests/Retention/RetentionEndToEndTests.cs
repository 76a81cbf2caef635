using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailtest.Core.Capture;
using Mailtest.Core.Messages;
using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Mailtest.Tests.Retention;

/// <summary>The real host with a Starter plan capped at 20 messages: mail keeps flowing past the cap over real SMTP.</summary>
[TestCategory(Needs.Host)]
public sealed class RetentionEndToEndTests : IAsyncLifetime
{
    private const int Cap = 20;
    private MailtestTestHost _host = null!;
    private Organization _organization = null!;
    private ProjectEnvironment _environment = null!;
    private IssuedCredential _credential = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await MailtestTestHost.StartAsync(new Dictionary<string, string?> { ["Mailtest:Plans:Starter:MessageCap"] = Cap.ToString() });
        var tenancy = _host.Services.GetRequiredService<TenancyAdministration>();
        _organization = await tenancy.CreateOrganizationAsync("Acme", Plan.Starter);
        var project = await tenancy.CreateProjectAsync(_organization.Id, "Odoo shop");
        _environment = await tenancy.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
        _credential = await _host.Services.EnableMailtestAsync(_environment.Id);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private IMessageStore Store => _host.Services.GetRequiredService<IMessageStore>();

    [Fact]
    public async Task A_Starter_organization_keeps_accepting_mail_past_its_cap_and_keeps_the_newest()
    {
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15_000 };
        await client.ConnectAsync("127.0.0.1", _host.Services.GetRequiredService<SmtpListeners>().StartTls!.Port, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(_credential.Username, _credential.Password);
        for (var i = 0; i < 3 * Cap; i++)
        {
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("shop@acme.example"));
            message.To.Add(MailboxAddress.Parse("customer@client.example"));
            message.Subject = $"Order {i:D3}";
            message.Body = new TextPart("plain") { Text = $"Order number {i}." };
            // A 452 is temporary: a real client (Odoo's mail queue) sends again later. Here: at once, and we measure how long it lasted.
            var refusedSince = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    await client.SendAsync(message);
                    break;
                }
                catch (SmtpCommandException refused) when ((int)refused.StatusCode == 452)
                {
                    Assert.True(refusedSince.Elapsed < TimeSpan.FromSeconds(10), "452 lasted more than 10 seconds.");
                    await Task.Delay(50, TestContext.Current.CancellationToken);
                }
            }
        }
        await client.DisconnectAsync(quit: true);
        await _host.Services.GetRequiredService<CapPurgeTrigger>().IdleAsync();

        var subjects = (await Store.ListAsync(new MessageListQuery([_environment.Id], PageSize: 100))).Items.Select(m => m.Subject).ToList();
        // 95 % of 20: the purge leaves 19, the newest; the oldest are gone.
        Assert.Equal(Enumerable.Range(3 * Cap - 19, 19).Reverse().Select(i => $"Order {i:D3}"), subjects);
        Assert.Equal(19, (await _host.Services.GetRequiredService<OrganizationUsage>().GetAsync(_organization.Id)).MessageCount);
    }

    [Fact]
    public async Task Platform_administrators_change_plans_and_run_the_purge_through_the_API_and_members_read_usage()
    {
        var tenancy = _host.Services.GetRequiredService<TenancyAdministration>();
        var admin = await tenancy.CreateUserAsync("root@mailtest.example", "correct horse battery", isPlatformAdmin: true);
        var member = await tenancy.CreateUserAsync("dev@acme.example", "correct horse battery", isPlatformAdmin: false);
        await tenancy.AddMemberAsync(_organization.Id, member.Email, OrganizationRole.Member);
        using var asAdmin = await ClientForAsync(admin.Id);
        using var asMember = await ClientForAsync(member.Id);
        for (var i = 0; i < 3; i++)
            await SendAsync($"Hello {i}");

        var usage = await asMember.GetFromJsonAsync<JsonElement>($"api/v1/organizations/{_organization.Id}/usage");
        Assert.Equal(("Starter", 3, Cap, 30), (usage.GetProperty("plan").GetString(), usage.GetProperty("messages").GetInt32(),
            usage.GetProperty("messageCap").GetInt32(), usage.GetProperty("retentionDays").GetInt32()));

        var refused = await asMember.PutAsJsonAsync($"api/v1/admin/organizations/{_organization.Id}/plan", new { plan = "Pro" });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var bad = await asAdmin.PutAsJsonAsync($"api/v1/admin/organizations/{_organization.Id}/plan", new { plan = "Gold" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("Starter", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        var upgraded = await asAdmin.PutAsJsonAsync($"api/v1/admin/organizations/{_organization.Id}/plan", new { plan = "Pro" });
        upgraded.EnsureSuccessStatusCode();
        var downgraded = await (await asAdmin.PutAsJsonAsync($"api/v1/admin/organizations/{_organization.Id}/plan", new { plan = "Starter" }))
            .Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("Starter", "Pro", 90), (downgraded.GetProperty("plan").GetString(), downgraded.GetProperty("gracePlan").GetString(),
            downgraded.GetProperty("retentionDays").GetInt32()));
        var deletionStarts = downgraded.GetProperty("deletionStartsUtc").GetDateTime();
        Assert.InRange(deletionStarts, DateTime.UtcNow.AddDays(14).AddMinutes(-5), DateTime.UtcNow.AddDays(14));

        Assert.Equal(HttpStatusCode.Forbidden, (await asMember.PostAsync("api/v1/admin/purge", null)).StatusCode);
        var purge = await asAdmin.PostAsync($"api/v1/admin/purge?organizationId={_organization.Id}", null);
        purge.EnsureSuccessStatusCode();
        Assert.Equal(0, (await purge.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messages").GetInt32());
        var stranger = await tenancy.CreateUserAsync("other@else.example", "correct horse battery", isPlatformAdmin: false);
        using var asStranger = await ClientForAsync(stranger.Id);
        Assert.Equal(HttpStatusCode.NotFound, (await asStranger.GetAsync($"api/v1/organizations/{_organization.Id}/usage")).StatusCode);
    }

    private async Task SendAsync(string subject)
    {
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15_000 };
        await client.ConnectAsync("127.0.0.1", _host.Services.GetRequiredService<SmtpListeners>().StartTls!.Port, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(_credential.Username, _credential.Password);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("shop@acme.example"));
        message.To.Add(MailboxAddress.Parse("customer@client.example"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Hello." };
        await client.SendAsync(message);
        await client.DisconnectAsync(quit: true);
    }

    private async Task<HttpClient> ClientForAsync(Guid userId)
    {
        var token = await _host.Services.GetRequiredService<ApiTokens>().CreateAsync(userId, "tests");
        var client = new HttpClient { BaseAddress = _host.WebAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        return client;
    }
}
