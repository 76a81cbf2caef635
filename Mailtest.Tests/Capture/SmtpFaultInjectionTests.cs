using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MailKit;
using MailKit.Net.Smtp;
using Mailtest.Core.Audit;
using Mailtest.Core.Messages;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Mailtest.Tests.Capture;

/// <summary>SMTP fault injection ("chaos") per environment, set over the API and met by a real SMTP client.</summary>
[TestCategory(Needs.Host)]
public sealed class SmtpFaultInjectionTests : SandboxTests
{
    private string FaultsPath => $"/api/v1/environments/{World.EnvironmentId}/smtp-faults";

    private static MimeMessage Message(string subject, params string[] to)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("shop@acme.example"));
        foreach (var address in to) message.To.Add(MailboxAddress.Parse(address));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Hello" };
        return message;
    }

    private async Task<int> StoredAsync() =>
        (await Host.Services.GetRequiredService<IMessageStore>().ListAsync(new MessageListQuery([World.EnvironmentId]))).Items.Count;

    private async Task PutAsync(object body) =>
        Assert.Equal(HttpStatusCode.OK, (await World.Owner.PutAsJsonAsync(FaultsPath, body)).StatusCode);

    [Fact]
    public async Task Off_by_default_and_mail_flows()
    {
        var faults = await World.Viewer.GetFromJsonAsync<JsonElement>(FaultsPath);

        foreach (var stage in new[] { "authentication", "sender", "recipient" })
            Assert.Equal(0, faults.GetProperty(stage).GetProperty("probability").GetInt32());
        await World.SendAsync(Message("Welcome", "a@client.example"));
        Assert.Equal(1, await StoredAsync());
    }

    [Fact]
    public async Task RCPT_TO_answers_the_chosen_code_and_nothing_is_stored_until_it_is_switched_off()
    {
        await PutAsync(new { recipient = new { replyCode = 550, probability = 100 } });

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => World.SendAsync(Message("Order confirmation", "a@client.example")));

        Assert.Equal((SmtpStatusCode)550, refused.StatusCode);
        Assert.Contains("fault", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, await StoredAsync());

        await PutAsync(new { });
        await World.SendAsync(Message("Order confirmation", "a@client.example"));
        Assert.Equal(1, await StoredAsync());
    }

    [Fact]
    public async Task MAIL_FROM_answers_a_temporary_failure_the_client_can_retry()
    {
        await PutAsync(new { sender = new { replyCode = 451, probability = 100 } });

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => World.SendAsync(Message("Invoice", "a@client.example")));

        Assert.Equal((SmtpStatusCode)451, refused.StatusCode);
        Assert.Equal(SmtpErrorCode.SenderNotAccepted, refused.ErrorCode);
        Assert.Equal(0, await StoredAsync());
    }

    [Fact]
    public async Task AUTH_answers_the_chosen_code_even_with_the_right_password()
    {
        await PutAsync(new { authentication = new { replyCode = 454, probability = 100 } });

        using var client = await World.ConnectAsync();
        var refused = await Assert.ThrowsAsync<MailKit.Security.AuthenticationException>(() => client.AuthenticateAsync(World.Credential.Username, World.Credential.Password));

        Assert.Equal((SmtpStatusCode)454, Assert.IsType<SmtpCommandException>(refused.InnerException).StatusCode);
        Assert.False(client.IsAuthenticated);
    }

    [Fact]
    public async Task A_probability_fails_some_recipients_and_accepts_the_others()
    {
        await PutAsync(new { recipient = new { replyCode = 452, probability = 50 } });
        var addresses = Enumerable.Range(0, 40).Select(i => $"r{i}@client.example").ToArray();

        var accepted = await AcceptedRecipientsAsync(addresses);

        // 40 tries at 50%: all accepted or all refused has a chance of 2 in 2^40.
        Assert.InRange(accepted.Count, 1, addresses.Length - 1);
        Assert.Equal(accepted.Count, await StoredAsync());
    }

    /// <summary>Sends one message per address on one session; returns the addresses whose RCPT TO was accepted.</summary>
    private async Task<List<string>> AcceptedRecipientsAsync(string[] addresses)
    {
        using var client = await World.ConnectAsync();
        await client.AuthenticateAsync(World.Credential.Username, World.Credential.Password);
        var accepted = new List<string>();
        foreach (var address in addresses)
        {
            try
            {
                await client.SendAsync(Message("One", address));
                accepted.Add(address);
            }
            catch (SmtpCommandException e) when (e.ErrorCode == SmtpErrorCode.RecipientNotAccepted)
            {
                Assert.Equal((SmtpStatusCode)452, e.StatusCode);
            }
        }
        await client.DisconnectAsync(true);
        return accepted;
    }

    [Fact]
    public async Task Bad_codes_and_probabilities_get_a_sentence_and_change_nothing()
    {
        var code = await World.Owner.PutAsJsonAsync(FaultsPath, new { sender = new { replyCode = 250, probability = 100 } });
        var probability = await World.Owner.PutAsJsonAsync(FaultsPath, new { recipient = new { replyCode = 550, probability = 150 } });

        Assert.Equal(HttpStatusCode.BadRequest, code.StatusCode);
        Assert.Contains("4xx or 5xx", (await code.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, probability.StatusCode);
        Assert.Contains("0 (off) to 100", (await probability.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        await World.SendAsync(Message("Still flowing", "a@client.example"));
        Assert.Equal(1, await StoredAsync());
    }

    [Fact]
    public async Task Only_managers_change_it_another_organization_sees_nothing_and_changes_are_audited()
    {
        var viewer = await World.Viewer.PutAsJsonAsync(FaultsPath, new { recipient = new { replyCode = 550, probability = 100 } });
        var (stranger, _) = await SandboxWorld.ClientAsync(Host, null);
        var strangerRead = await stranger.GetAsync(FaultsPath);

        Assert.Equal(HttpStatusCode.Forbidden, viewer.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, strangerRead.StatusCode);

        await PutAsync(new { recipient = new { replyCode = 550, probability = 25 } });
        var entries = (await Host.Services.GetRequiredService<AuditLog>().PageAsync(0, 200)).Items
            .Where(a => a.EnvironmentId == World.EnvironmentId && a.Action == AuditActions.SmtpFaultsChange).ToList();
        var entry = Assert.Single(entries);
        Assert.Equal(World.OwnerUser.Email, entry.Actor);
        Assert.Contains("RCPT TO answers 550 in 25% of attempts", entry.Detail);
    }
}
