using Mailtest.Tests.Infrastructure;
namespace Mailtest.Tests.Smtp;

/// <summary>STARTTLS (RFC 3207) and implicit TLS over in-memory pipes with a real TLS handshake.</summary>
[TestCategory(Needs.Unit)]
public sealed class SmtpStartTlsTests : IAsyncLifetime
{
    private readonly InMemorySmtpServer _server = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;
    public ValueTask DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task After_STARTTLS_the_client_must_EHLO_again_and_AUTH_is_offered()
    {
        await using var client = _server.Connect();
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        Assert.Equal("220 2.0.0 Ready to start TLS", await client.CommandAsync("STARTTLS"));
        await client.UpgradeToTlsAsync();
        Assert.StartsWith("503 5.5.1", await client.CommandAsync("MAIL FROM:<a@example.com>")); // the pre-TLS EHLO is forgotten
        var ehlo = await client.CommandAsync("EHLO client.example");
        Assert.Contains("250 AUTH PLAIN LOGIN", ehlo);
        Assert.DoesNotContain("STARTTLS", ehlo);
        Assert.StartsWith("503 5.5.1", await client.CommandAsync("STARTTLS"));
        await client.AuthenticatePlainAsync("alice", "correct horse");
        Assert.True(_server.Backend.LoginAttempts.Single() == ("alice", "correct horse"));
    }

    [Fact]
    public async Task Plaintext_sent_behind_STARTTLS_in_the_same_packet_is_dropped()
    {
        await using var client = _server.Connect();
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        // An attacker in the middle appends commands to the client's STARTTLS (CVE-2011-0411).
        await client.SendAsync("STARTTLS\r\nRSET\r\nVRFY injected\r\nQUIT\r\n");
        Assert.Equal("220 2.0.0 Ready to start TLS", await client.ReadReplyAsync());
        await client.UpgradeToTlsAsync();
        // Had the injected lines been run, their replies (250, 252, 221) would come first and QUIT would close.
        Assert.Equal("250 2.0.0 Ok", await client.CommandAsync("NOOP"));
        Assert.StartsWith("250-mailtest", await client.CommandAsync("EHLO client.example"));
    }

    [Fact]
    public async Task Implicit_TLS_talks_TLS_from_the_first_byte()
    {
        await using var client = _server.Connect(implicitTls: true);
        await client.UpgradeToTlsAsync();
        Assert.StartsWith("220 mailtest ESMTP", await client.ReadReplyAsync());
        Assert.Contains("AUTH PLAIN LOGIN", await client.CommandAsync("EHLO client.example"));
        await client.AuthenticatePlainAsync("alice", "correct horse");
    }

    [Fact]
    public async Task The_generated_certificate_is_kept_owner_only_in_the_data_directory()
    {
        await using var client = _server.Connect(implicitTls: true);
        await client.UpgradeToTlsAsync();
        var path = Path.Combine(_server.DataDirectory, "smtp-certificate.pfx");
        Assert.True(File.Exists(path));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }
}
