using Mailtest.Tests.Infrastructure;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mailtest.Tests.Smtp;

/// <summary>Real clients over real TCP against Kestrel: MailKit (STARTTLS, implicit TLS) and Python's smtplib as Odoo uses it.</summary>
[TestCategory(Needs.Host)]
public sealed class SmtpEndToEndTests : IAsyncLifetime
{
    private const string User = "odoo-env-1";
    private const string Password = "s3cret-Passw0rd!";
    private SmtpTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await SmtpTestHost.StartAsync();
    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private static MimeMessage NewMessage(string subject)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Sales", "sales@company.example"));
        message.To.Add(new MailboxAddress("Customer", "customer@client.example"));
        message.Cc.Add(MailboxAddress.Parse("manager@client.example"));
        message.Bcc.Add(MailboxAddress.Parse("archive@company.example"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Hello\n.\nBye" };
        return message;
    }

    private static SmtpClient NewClient(List<string>? seen = null) => new()
    {
        ServerCertificateValidationCallback = (_, certificate, _, _) =>
        {
            if (certificate is not null)
                seen?.Add(certificate.GetCertHashString());
            return true; // the test host's certificate is self-signed
        },
        Timeout = 15_000,
    };

    [Fact]
    public async Task MailKit_sends_over_STARTTLS_with_AUTH_and_the_envelope_keeps_Bcc()
    {
        using var client = NewClient();
        await client.ConnectAsync("127.0.0.1", _host.StartTls.Port, SecureSocketOptions.StartTls);
        Assert.True(client.IsSecure);
        Assert.Equal(["LOGIN", "PLAIN"], client.AuthenticationMechanisms.Order());
        await client.AuthenticateAsync(User, Password);
        var response = await client.SendAsync(NewMessage("From MailKit"));
        await client.DisconnectAsync(quit: true);

        Assert.Matches(@"Ok: queued as <\d+>", response);
        var delivered = Assert.Single(_host.Backend.Delivered);
        Assert.Equal("sales@company.example", delivered.Transaction.EnvelopeFrom);
        Assert.Equal(["archive@company.example", "customer@client.example", "manager@client.example"], delivered.Transaction.EnvelopeTo.Order());
        Assert.DoesNotContain("archive@company.example", System.Text.Encoding.UTF8.GetString(delivered.Content)); // Bcc only in the envelope
        Assert.True(delivered.Transaction.Peer.IsSecure);
        var parsed = MimeMessage.Load(new MemoryStream(delivered.Content));
        Assert.Equal("From MailKit", parsed.Subject);
        Assert.Equal("Hello\n.\nBye", (parsed.TextBody ?? "").ReplaceLineEndings("\n").TrimEnd('\n'));
    }

    [Fact]
    public async Task MailKit_with_a_wrong_password_gets_535()
    {
        using var client = NewClient();
        await client.ConnectAsync("127.0.0.1", _host.StartTls.Port, SecureSocketOptions.StartTls);
        var error = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(User, "wrong"));
        Assert.Contains("Authentication failed", error.Message);
        Assert.Empty(_host.Backend.Delivered);
    }

    [Fact]
    public async Task MailKit_sends_over_implicit_TLS()
    {
        using var client = NewClient();
        await client.ConnectAsync("127.0.0.1", _host.ImplicitTls.Port, SecureSocketOptions.SslOnConnect);
        Assert.True(client.IsSecure);
        await client.AuthenticateAsync(User, Password);
        await client.SendAsync(NewMessage("Over SMTPS"));
        await client.DisconnectAsync(quit: true);
        Assert.Equal("Over SMTPS", MimeMessage.Load(new MemoryStream(Assert.Single(_host.Backend.Delivered).Content)).Subject);
    }

    [Fact]
    public async Task Python_smtplib_sends_the_way_Odoo_does()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "TestData", "Smtp", "odoo_send.py");
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { script, "127.0.0.1", _host.StartTls.Port.ToString(), User, Password })
            start.ArgumentList.Add(argument);
        using var python = Process.Start(start)!;
        var output = python.StandardOutput.ReadToEndAsync();
        var errors = python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(python.ExitCode == 0, $"smtplib failed: {await errors}");
        Assert.Equal("sent", (await output).Trim());

        var messages = _host.Backend.Delivered.ToArray();
        Assert.Equal(2, messages.Length);
        var quotation = messages[0];
        Assert.Equal("sales@company.example", quotation.Transaction.EnvelopeFrom);
        // smtplib puts To, Bcc, Cc in the envelope and drops the Bcc header.
        Assert.Equal(["archive@company.example", "customer@client.example", "manager@client.example"], quotation.Transaction.EnvelopeTo.Order());
        Assert.DoesNotContain("archive@company.example", System.Text.Encoding.UTF8.GetString(quotation.Content));
        var parsed = MimeMessage.Load(new MemoryStream(quotation.Content));
        Assert.Equal("Quotation S00042", parsed.Subject);
        Assert.Contains(".\n..a line starting with dots", (parsed.TextBody ?? "").ReplaceLineEndings("\n"));

        var international = messages[1];
        Assert.Equal(["jörg@bücher.example"], international.Transaction.EnvelopeTo);
        Assert.Equal("Bestellbestätigung", MimeMessage.Load(new MemoryStream(international.Content)).Subject);
    }

    [Fact]
    public async Task The_self_signed_certificate_is_generated_once_and_reused_after_a_restart()
    {
        var seen = new List<string>();
        using (var client = NewClient(seen))
        {
            await client.ConnectAsync("127.0.0.1", _host.StartTls.Port, SecureSocketOptions.StartTls);
            await client.DisconnectAsync(quit: true);
        }
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-smtp-restart-{Guid.NewGuid():N}");
        try
        {
            string firstThumbprint;
            await using (var first = await SmtpTestHost.StartAsync(dataDirectory: dataDirectory))
            {
                firstThumbprint = await ThumbprintAsync(first.StartTls.Port);
            }
            await using var second = await SmtpTestHost.StartAsync(dataDirectory: dataDirectory);
            Assert.Equal(firstThumbprint, await ThumbprintAsync(second.StartTls.Port));
            Assert.NotEqual(seen.Single(), firstThumbprint); // each data directory has its own
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private static async Task<string> ThumbprintAsync(int port)
    {
        var seen = new List<string>();
        using var client = NewClient(seen);
        await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.StartTls);
        await client.DisconnectAsync(quit: true);
        return seen.Single();
    }

    [Fact]
    public async Task Commands_injected_behind_STARTTLS_over_TCP_are_not_run()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _host.StartTls.Port);
        await using var client = new SmtpTestClient(tcp.GetStream());
        Assert.StartsWith("220", await client.ReadReplyAsync());
        await client.SendAsync("EHLO client.example\r\nSTARTTLS\r\nAUTH PLAIN " + Convert.ToBase64String("\0odoo-env-1\0s3cret-Passw0rd!"u8.ToArray()) + "\r\n");
        Assert.StartsWith("250", await client.ReadReplyAsync());
        Assert.Equal("220 2.0.0 Ready to start TLS", await client.ReadReplyAsync());
        await client.UpgradeToTlsAsync();
        Assert.Contains("AUTH PLAIN LOGIN", await client.CommandAsync("EHLO client.example"));
        Assert.Equal("530 5.7.0 Authentication required", await client.CommandAsync("MAIL FROM:<a@example.com>"));
        Assert.Empty(_host.Backend.LoginAttempts);
    }

    [Fact]
    public async Task Stopping_the_host_answers_421_to_an_open_session()
    {
        var host = await SmtpTestHost.StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, host.StartTls.Port);
        await using var client = new SmtpTestClient(tcp.GetStream());
        Assert.StartsWith("220", await client.ReadReplyAsync());
        Assert.StartsWith("250", await client.CommandAsync("EHLO client.example"));

        var stopping = host.DisposeAsync().AsTask();
        Assert.Equal("421 4.3.2 Service shutting down", await client.ReadReplyAsync());
        Assert.True(await client.IsClosedAsync());
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
