using Mailtest.Tests.Infrastructure;
using System.Text;

namespace Mailtest.Tests.Smtp;

/// <summary>AUTH PLAIN and LOGIN (RFC 4954), TLS-only AUTH, and the failed-login ban.</summary>
[TestCategory(Needs.Unit)]
public sealed class SmtpAuthTests : IAsyncLifetime
{
    private readonly InMemorySmtpServer _server = new(o =>
    {
        o.AllowAuthWithoutTls = true;
        o.AuthFailuresBeforeBan = 10;
        o.AuthFailureWindow = TimeSpan.FromMinutes(5);
        o.BanDuration = TimeSpan.FromMinutes(15);
    });

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;
    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private async Task<SmtpTestClient> GreetedAsync(string remote = "192.0.2.10")
    {
        var client = _server.Connect(remote);
        Assert.StartsWith("220 ", await client.ReadReplyAsync());
        Assert.StartsWith("250", await client.CommandAsync("EHLO client.example"));
        return client;
    }

    [Fact]
    public async Task PLAIN_with_an_initial_response_logs_in()
    {
        await using var client = await GreetedAsync();
        Assert.Equal("235 2.7.0 Authentication successful", await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0correct horse")));
        Assert.StartsWith("250 2.1.0", await client.CommandAsync("MAIL FROM:<a@example.com>"));
        Assert.Equal(("alice", "correct horse"), _server.Backend.LoginAttempts.Single());
    }

    [Fact]
    public async Task PLAIN_with_the_334_continuation_logs_in()
    {
        await using var client = await GreetedAsync();
        Assert.Equal("334 ", await client.CommandAsync("AUTH PLAIN"));
        Assert.Equal("235 2.7.0 Authentication successful", await client.CommandAsync(B64("alice\0alice\0correct horse")));
        Assert.Equal("503 5.5.1 Already authenticated", await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0correct horse")));
    }

    [Fact]
    public async Task LOGIN_asks_for_user_name_then_password()
    {
        await using var client = await GreetedAsync();
        Assert.Equal("334 VXNlcm5hbWU6", await client.CommandAsync("auth login"));
        Assert.Equal("334 UGFzc3dvcmQ6", await client.CommandAsync(B64("alice")));
        Assert.Equal("235 2.7.0 Authentication successful", await client.CommandAsync(B64("correct horse")));
    }

    [Fact]
    public async Task LOGIN_with_the_user_name_as_initial_response_logs_in()
    {
        await using var client = await GreetedAsync();
        Assert.Equal("334 UGFzc3dvcmQ6", await client.CommandAsync("AUTH LOGIN " + B64("alice")));
        Assert.Equal("235 2.7.0 Authentication successful", await client.CommandAsync(B64("correct horse")));
    }

    [Fact]
    public async Task A_star_cancels_the_exchange_and_bad_base64_is_refused()
    {
        await using var client = await GreetedAsync();
        Assert.StartsWith("334", await client.CommandAsync("AUTH LOGIN"));
        Assert.Equal("501 5.7.0 Authentication cancelled", await client.CommandAsync("*"));
        Assert.StartsWith("334", await client.CommandAsync("AUTH PLAIN"));
        Assert.Equal("501 5.7.0 Authentication cancelled", await client.CommandAsync("*"));
        Assert.Equal("501 5.5.2 Cannot decode response", await client.CommandAsync("AUTH PLAIN !!notbase64!!"));
        Assert.Equal("501 5.5.2 Cannot decode response", await client.CommandAsync("AUTH PLAIN " + B64("no separators")));
        Assert.Equal("504 5.5.4 Unrecognized authentication type", await client.CommandAsync("AUTH CRAM-MD5"));
        Assert.Empty(_server.Backend.LoginAttempts);
        Assert.Equal("530 5.7.0 Authentication required", await client.CommandAsync("MAIL FROM:<a@example.com>"));
    }

    [Fact]
    public async Task Wrong_password_gets_535_and_a_backend_refusal_is_passed_through()
    {
        await using var client = await GreetedAsync();
        Assert.Equal("535 5.7.8 Authentication failed", await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0wrong")));
        Assert.Equal("535 5.7.8 Authentication failed", await client.CommandAsync("AUTH PLAIN " + B64("\0nobody\0x")));
        _server.Backend.LoginRefusal = new Mailtest.Smtp.SmtpReply(421, "4.7.0", "Rejected: AUTH temporarily blocked during rotation");
        Assert.Equal("421 4.7.0 Rejected: AUTH temporarily blocked during rotation", await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0correct horse")));
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task AUTH_is_neither_offered_nor_accepted_before_TLS_unless_allowed()
    {
        await using var strict = new InMemorySmtpServer();
        await using var client = strict.Connect();
        await client.ReadReplyAsync();
        var ehlo = await client.CommandAsync("EHLO client.example");
        Assert.DoesNotContain("AUTH", ehlo);
        Assert.Contains("STARTTLS", ehlo);
        Assert.Equal("530 5.7.0 Must issue a STARTTLS command first", await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0correct horse")));
        Assert.Empty(strict.Backend.LoginAttempts);
    }

    [Fact]
    public async Task Ten_failed_logins_ban_the_address_until_the_ban_expires()
    {
        await using (var client = await GreetedAsync("198.51.100.7"))
        {
            for (var i = 1; i < 10; i++)
                Assert.Equal("535 5.7.8 Authentication failed", await client.CommandAsync("AUTH PLAIN " + B64($"\0alice\0guess{i}")));
            Assert.StartsWith("421 4.7.0", await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0guess10")));
            Assert.True(await client.IsClosedAsync());
        }

        await using (var banned = _server.Connect("198.51.100.7"))
        {
            Assert.StartsWith("421 4.7.0", await banned.ReadReplyAsync());
            Assert.True(await banned.IsClosedAsync());
        }
        await using (var other = await GreetedAsync("198.51.100.8"))
            await other.AuthenticatePlainAsync("alice", "correct horse");

        _server.Clock.Advance(TimeSpan.FromMinutes(15));
        await using var forgiven = await GreetedAsync("198.51.100.7");
        await forgiven.AuthenticatePlainAsync("alice", "correct horse");
    }

    [Fact]
    public async Task Failures_spread_beyond_the_window_do_not_ban()
    {
        await using var client = await GreetedAsync("198.51.100.9");
        for (var i = 0; i < 12; i++)
        {
            Assert.Equal("535 5.7.8 Authentication failed", await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0wrong")));
            _server.Clock.Advance(TimeSpan.FromSeconds(40)); // 9 failures per 5 minutes at most
        }
        await client.AuthenticatePlainAsync("alice", "correct horse");
    }

    [Fact]
    public async Task A_ban_also_stops_guessing_on_connections_already_open()
    {
        await using var parallel = await GreetedAsync("198.51.100.20");
        await using (var guesser = await GreetedAsync("198.51.100.20"))
        {
            for (var i = 0; i < 10; i++)
                await guesser.CommandAsync("AUTH PLAIN " + B64($"\0alice\0guess{i}"));
        }
        var attempts = _server.Backend.LoginAttempts.Count;
        Assert.StartsWith("421 4.7.0", await parallel.CommandAsync("AUTH PLAIN " + B64("\0alice\0correct horse")));
        Assert.True(await parallel.IsClosedAsync());
        Assert.Equal(attempts, _server.Backend.LoginAttempts.Count); // the backend was not even asked
    }
}
