using System.Diagnostics;
using System.Text;
using System.Text.Json;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailtest.Core.Capture;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Mailtest.Tests.Infrastructure;
using Mailtest.Web.Admin;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Mailtest.Tests.Capture;

/// <summary>Real clients, the real host, real storage: mail sent with credentials issued by Core is listed and opens.</summary>
[TestCategory(Needs.Host)]
public sealed class CaptureEndToEndTests : IAsyncLifetime
{
    private MailtestTestHost _host = null!;
    private ProjectEnvironment _environment = null!;
    private IssuedCredential _credential = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await MailtestTestHost.StartAsync();
        var tenancy = _host.Services.GetRequiredService<TenancyAdministration>();
        var organization = await tenancy.CreateOrganizationAsync("Acme", Plan.Pro);
        var project = await tenancy.CreateProjectAsync(organization.Id, "Odoo shop");
        _environment = await tenancy.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
        _credential = await _host.Services.EnableMailtestAsync(_environment.Id);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private int SmtpPort => _host.Services.GetRequiredService<SmtpListeners>().StartTls!.Port;
    private IMessageStore Store => _host.Services.GetRequiredService<IMessageStore>();

    private static SmtpClient NewClient() => new()
    {
        ServerCertificateValidationCallback = (_, _, _, _) => true, // the host's certificate is self-signed
        Timeout = 15_000,
    };

    [Fact]
    public async Task MailKit_mail_is_stored_listed_with_its_Bcc_and_opens_byte_for_byte()
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Sales", "sales@acme.example"));
        message.To.Add(MailboxAddress.Parse("customer@client.example"));
        message.Bcc.Add(MailboxAddress.Parse("archive@acme.example"));
        message.Subject = "Invoice INV/2026/0007";
        var body = new BodyBuilder { HtmlBody = "<p>Your invoice is <b>attached</b>.</p>" };
        body.Attachments.Add("INV-2026-0007.pdf", Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray(), new ContentType("application", "pdf"));
        message.Body = body.ToMessageBody();

        using var client = NewClient();
        await client.ConnectAsync("127.0.0.1", SmtpPort, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(_credential.Username, _credential.Password);
        var response = await client.SendAsync(message);
        await client.DisconnectAsync(quit: true);

        var id = Guid.Parse(System.Text.RegularExpressions.Regex.Match(response, "queued as ([0-9a-f]{32})").Groups[1].Value);
        var listed = Assert.Single((await Store.ListAsync(new MessageListQuery([_environment.Id]))).Items);
        Assert.Equal((id, "Invoice INV/2026/0007", 1), (listed.Id, listed.Subject, listed.AttachmentCount));
        Assert.Contains("archive@acme.example", listed.EnvelopeTo);
        await _host.Services.GetRequiredService<IngestWriter>().WaitUntilSearchableAsync(); // search follows commits by a moment
        Assert.Equal([id], (await Store.ListAsync(new MessageListQuery([_environment.Id], "to:archive has:attachment attached"))).Items.Select(m => m.Id));
        await using var raw = await Store.OpenRawAsync(id, [_environment.Id]);
        var reopened = await MimeMessage.LoadAsync(raw!);
        var pdf = Assert.IsType<MimePart>(Assert.Single(reopened.Attachments));
        using var decoded = new MemoryStream();
        await pdf.Content!.DecodeToAsync(decoded);
        Assert.Equal(Enumerable.Range(0, 5000).Select(i => (byte)i), decoded.ToArray());
        Assert.Equal("Invoice INV/2026/0007", reopened.Subject);
    }

    [Theory]
    [InlineData(20_000)] // held in memory while it arrives, sealed in memory
    [InlineData(SpooledMessage.InMemoryLimitBytes + 1_000)] // just past it: spooled to a file, sealed into a file
    [InlineData(6 * 1024 * 1024)] // far past it
    public async Task A_message_in_memory_just_past_the_in_memory_limit_or_far_past_it_is_stored_byte_for_byte(int size)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Reports", "reports@acme.example"));
        message.To.Add(MailboxAddress.Parse("customer@client.example"));
        message.Subject = $"Report of {size} bytes";
        var line = "Line of a long report, plain ASCII, well under 998 characters.";
        message.Body = new TextPart("plain") { Text = string.Concat(Enumerable.Range(0, size / (line.Length + 8)).Select(i => $"{i:D6} {line}\r\n")) };

        using var client = NewClient();
        await client.ConnectAsync("127.0.0.1", SmtpPort, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(_credential.Username, _credential.Password);
        var response = await client.SendAsync(message);
        await client.DisconnectAsync(quit: true);

        // What MailKit put on the wire (after its own preparation of the message), with CRLF line ends.
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        using var sent = new MemoryStream();
        await message.WriteToAsync(format, sent);
        var id = Guid.Parse(System.Text.RegularExpressions.Regex.Match(response, "queued as ([0-9a-f]{32})").Groups[1].Value);
        await using var raw = await Store.OpenRawAsync(id, [_environment.Id]);
        using var stored = new MemoryStream();
        await raw!.CopyToAsync(stored);
        Assert.True(sent.ToArray().AsSpan().SequenceEqual(stored.ToArray()), $"stored {stored.Length} bytes differ from the {sent.Length} sent");
        Assert.Equal(sent.Length, (await Store.GetAsync(id, [_environment.Id]))!.Size);
        Assert.Empty(Directory.GetFiles(Path.Combine(_host.DataDirectory, "spool"), "*.eml.spool")); // nothing left behind, sealed or not
    }

    [Fact]
    public async Task A_wrong_password_is_refused_and_nothing_is_stored()
    {
        using var client = NewClient();
        await client.ConnectAsync("127.0.0.1", SmtpPort, SecureSocketOptions.StartTls);

        var error = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(_credential.Username, "not-the-password"));

        Assert.Contains("Authentication failed", error.Message);
        Assert.Equal(0, await Store.CountAsync(_environment.Id));
    }

    [Fact]
    public async Task Python_smtplib_as_Odoo_sends_and_the_admin_command_line_lists_it()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "TestData", "Smtp", "odoo_send.py");
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { script, "127.0.0.1", SmtpPort.ToString(), _credential.Username, _credential.Password })
            start.ArgumentList.Add(argument);
        using (var python = Process.Start(start)!)
        {
            var errors = python.StandardError.ReadToEndAsync();
            var output = python.StandardOutput.ReadToEndAsync();
            await python.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(python.ExitCode == 0, $"smtplib failed: {await errors}");
            Assert.Equal("sent", (await output).Trim());
        }

        using var stdout = new MemoryStream();
        var exitCode = await AdminCommandLine.RunAsync(["admin", "messages", "list", _environment.Id.ToString(), "--json", "--data-dir", _host.DataDirectory], stdout, TextWriter.Null);

        Assert.Equal(0, exitCode);
        var listed = JsonDocument.Parse(stdout.ToArray()).RootElement.EnumerateArray().ToList();
        Assert.Equal(["Bestellbestätigung", "Quotation S00042"], listed.Select(m => m.GetProperty("subject").GetString()));  // newest first
        var quotation = listed[1];
        Assert.Contains("archive@company.example", quotation.GetProperty("envelopeTo").GetString()); // Bcc
        Assert.Equal("jörg@bücher.example", listed[0].GetProperty("envelopeTo").GetString());
        var stored = await Store.GetAsync(quotation.GetProperty("id").GetGuid(), [_environment.Id]);
        Assert.DoesNotContain("archive@company.example", stored!.To + stored.Cc);
        Assert.Contains("manager@client.example", stored.Cc);
    }
}
