using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailtest.Core.Capture;
using Mailtest.Core.Exports;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Mailtest.Tests.Infrastructure;
using Mailtest.Tests.Smtp;
using Mailtest.Tests.Smtp.Fakes;
using Mailtest.Web.Admin;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Mailtest.Tests.Exports;

/// <summary>
/// "Download all as .zip" end to end: mail captured over SMTP, an export asked for through the API,
/// the zip checked entry by entry, the link emailed through a real SMTP relay (our SMTP engine with a
/// recording backend), and the link's 7 days on a clock the test moves.
/// </summary>
[TestCategory(Needs.Host)]
public sealed class ExportEndToEndTests : IAsyncLifetime
{
    private const string RelayUser = "mailtest-relay", RelayPassword = "relay-Passw0rd-1";
    private readonly ManualTimeProvider _clock = new();
    private SmtpTestHost _relay = null!;
    private MailtestTestHost _host = null!;
    private ProjectEnvironment _environment = null!;
    private IssuedCredential _credential = null!;
    private UserAccount _owner = null!;

    public async ValueTask InitializeAsync()
    {
        _relay = await SmtpTestHost.StartAsync(new FakeSmtpBackend().WithLogin(RelayUser, RelayPassword, maxMessageBytes: 1024 * 1024));
        _host = await MailtestTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Mailtest:Notifications:Host"] = "127.0.0.1",
            ["Mailtest:Notifications:Port"] = _relay.StartTls.Port.ToString(),
            ["Mailtest:Notifications:Tls"] = "StartTls",
            ["Mailtest:Notifications:AcceptAnyCertificate"] = "true",
            ["Mailtest:Notifications:User"] = RelayUser,
            ["Mailtest:Notifications:Password"] = RelayPassword,
            ["Mailtest:Notifications:From"] = "Mailtest <mailtest@acme.example>",
            ["Mailtest:Exports:PublicUrl"] = "https://mailtest.acme.example/",
        }, builder => builder.Services.AddSingleton<TimeProvider>(_clock));
        var tenancy = _host.Services.GetRequiredService<TenancyAdministration>();
        var organization = await tenancy.CreateOrganizationAsync("Acme", Plan.Pro);
        var project = await tenancy.CreateProjectAsync(organization.Id, "Shop");
        _environment = await tenancy.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
        _credential = await _host.Services.EnableMailtestAsync(_environment.Id);
        _owner = await tenancy.CreateUserAsync("owner@acme.example", "correct horse battery", isPlatformAdmin: false);
        await tenancy.AddMemberAsync(organization.Id, _owner.Email, OrganizationRole.Owner);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
    }

    [Fact]
    public async Task A_zip_of_a_few_hundred_messages_and_one_of_20_MB_matches_the_store_and_its_link_is_mailed_and_lasts_7_days()
    {
        var large = await SendAsync(300);
        using var api = await ClientForAsync(_owner.Id);

        var requested = await api.PostAsync($"api/v1/environments/{_environment.Id}/exports", null);
        Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
        var exportId = (await requested.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var ready = await WaitUntilReadyAsync(api, exportId);
        Assert.Equal((301, 301), (ready.GetProperty("exportedMessages").GetInt32(), ready.GetProperty("totalMessages").GetInt32()));
        var link = ready.GetProperty("link").GetString()!;

        // The zip: one .eml per message, byte for byte what the store (and `admin messages raw`) gives; the manifest lists them all.
        var zipBytes = await api.GetByteArrayAsync(link);
        Assert.Equal(ready.GetProperty("sizeBytes").GetInt64(), zipBytes.Length);
        using var zip = new ZipArchive(new MemoryStream(zipBytes), ZipArchiveMode.Read);
        var emls = zip.Entries.Where(e => e.FullName.EndsWith(".eml", StringComparison.Ordinal)).ToList();
        Assert.Equal(301, emls.Count);
        Assert.All(emls, e => Assert.StartsWith("Shop-staging/", e.FullName));
        var store = _host.Services.GetRequiredService<IMessageStore>();
        foreach (var entry in emls)
        {
            var id = Guid.ParseExact(Path.GetFileNameWithoutExtension(entry.Name)[^32..], "N");
            await using var raw = await store.OpenRawAsync(id, [_environment.Id]);
            Assert.Equal(await BytesAsync(raw!), await BytesAsync(await entry.OpenAsync(TestContext.Current.CancellationToken)));
        }
        var largeEntry = Assert.Single(emls, e => e.FullName.EndsWith($"{large:N}.eml", StringComparison.Ordinal));
        Assert.True(largeEntry.Length > 20_000_000);
        Assert.Equal(await AdminRawAsync(large), await BytesAsync(await largeEntry.OpenAsync(TestContext.Current.CancellationToken)));
        using var manifest = JsonDocument.Parse(await zip.GetEntry("manifest.json")!.OpenAsync(TestContext.Current.CancellationToken));
        var listed = manifest.RootElement.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(emls.Select(e => e.FullName).Order(), listed.Select(m => m.GetProperty("file").GetString()).Order());
        Assert.Contains(listed, m => m.GetProperty("subject").GetString() == "Order 000" && m.GetProperty("envelopeFrom").GetString() == "shop@acme.example");

        // The link arrives by email through the relay, with the public address.
        var mail = await WaitForRelayedMailAsync();
        Assert.Equal(["owner@acme.example"], mail.Transaction.EnvelopeTo);
        var relayed = MimeMessage.Load(new MemoryStream(mail.Content));
        Assert.Equal("Your Mailtest export is ready", relayed.Subject);
        var linkPath = new Uri(link).PathAndQuery;
        Assert.Contains("https://mailtest.acme.example" + linkPath, relayed.TextBody);

        // Another organization's user cannot use the link; nor can anyone without signing in.
        var tenancy = _host.Services.GetRequiredService<TenancyAdministration>();
        var stranger = await tenancy.CreateUserAsync("someone@else.example", "correct horse battery", isPlatformAdmin: false);
        var otherOrganization = await tenancy.CreateOrganizationAsync("Else", Plan.Pro);
        await tenancy.AddMemberAsync(otherOrganization.Id, stranger.Email, OrganizationRole.Owner);
        using var asStranger = await ClientForAsync(stranger.Id);
        Assert.Equal(HttpStatusCode.NotFound, (await asStranger.GetAsync(link)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await asStranger.GetAsync($"api/v1/exports/{exportId}")).StatusCode);
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _host.WebAddress };
        var signIn = await anonymous.GetAsync(linkPath);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Contains("signin", signIn.Headers.Location!.ToString(), StringComparison.OrdinalIgnoreCase);

        // 7 days: still there a minute before, gone after; the sweep deletes the file.
        _clock.Advance(TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync(link, HttpCompletionOption.ResponseHeadersRead)).StatusCode);
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.Gone, (await api.GetAsync(link)).StatusCode);
        await _host.Services.GetRequiredService<MessageExports>().DeleteExpiredAsync(); // what the hourly sweep does
        Assert.False(File.Exists(_host.Services.GetRequiredService<ExportFiles>().PathOf(exportId)));
        Assert.Equal("expired", (await api.GetFromJsonAsync<JsonElement>($"api/v1/exports/{exportId}")).GetProperty("state").GetString());
    }

    /// <summary>Sends <paramref name="count"/> small messages and one of about 20 MB; returns the large one's id.</summary>
    private async Task<Guid> SendAsync(int count)
    {
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 60_000 };
        await client.ConnectAsync("127.0.0.1", _host.Services.GetRequiredService<SmtpListeners>().StartTls!.Port, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(_credential.Username, _credential.Password);
        for (var i = 0; i < count; i++)
            await client.SendAsync(Message($"Order {i:D3}", new TextPart("plain") { Text = $"Order number {i}." }));
        var noise = new byte[15_000_000];
        new Random(20).NextBytes(noise);
        var body = new BodyBuilder { TextBody = "The catalogue is attached." };
        body.Attachments.Add("catalogue.bin", noise, new ContentType("application", "octet-stream"));
        var response = await client.SendAsync(Message("Catalogue", body.ToMessageBody()));
        await client.DisconnectAsync(quit: true);
        return Guid.ParseExact(System.Text.RegularExpressions.Regex.Match(response, "queued as ([0-9a-f]{32})").Groups[1].Value, "N");
    }

    private static MimeMessage Message(string subject, MimeEntity body)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("shop@acme.example"));
        message.To.Add(MailboxAddress.Parse("customer@client.example"));
        message.Subject = subject;
        message.Body = body;
        return message;
    }

    /// <remarks>Quartz runs on the host's clock, which only this test moves: a second per poll lets the job start.</remarks>
    private async Task<JsonElement> WaitUntilReadyAsync(HttpClient api, Guid exportId)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var status = await api.GetFromJsonAsync<JsonElement>($"api/v1/exports/{exportId}");
            var state = status.GetProperty("state").GetString();
            if (state == "ready") return status;
            Assert.True(state is "queued" or "running", $"The export ended {state}: {status}");
            Assert.True(waited.Elapsed < TimeSpan.FromMinutes(2), "The export took more than 2 minutes.");
            _clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(100);
        }
    }

    private async Task<DeliveredMessage> WaitForRelayedMailAsync()
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!_relay.Backend.Delivered.TryPeek(out _))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "No mail reached the relay within 30 seconds.");
            await Task.Delay(50);
        }
        return Assert.Single(_relay.Backend.Delivered);
    }

    private async Task<byte[]> AdminRawAsync(Guid messageId)
    {
        using var stdout = new MemoryStream();
        var exitCode = await AdminCommandLine.RunAsync(["admin", "messages", "raw", messageId.ToString(), "--data-dir", _host.DataDirectory], stdout, new StringWriter());
        Assert.Equal(0, exitCode);
        return stdout.ToArray();
    }

    private static async Task<byte[]> BytesAsync(Stream stream)
    {
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    private async Task<HttpClient> ClientForAsync(Guid userId)
    {
        var token = await _host.Services.GetRequiredService<ApiTokens>().CreateAsync(userId, "tests");
        var client = new HttpClient { BaseAddress = _host.WebAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        return client;
    }
}
