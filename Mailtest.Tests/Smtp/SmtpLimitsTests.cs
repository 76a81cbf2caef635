using Mailtest.Tests.Infrastructure;
using Mailtest.Smtp;

namespace Mailtest.Tests.Smtp;

/// <summary>Per-IP connection limit, the three timeouts and graceful shutdown, on a manual clock.</summary>
[TestCategory(Needs.Unit)]
public sealed class SmtpLimitsTests : IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DataTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromMinutes(30);

    private readonly InMemorySmtpServer _server = new(o =>
    {
        o.AllowAuthWithoutTls = true;
        o.MaxConnectionsPerIp = 2;
        o.CommandTimeout = CommandTimeout;
        o.DataTimeout = DataTimeout;
        o.SessionTimeout = SessionTimeout;
    });

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;
    public ValueTask DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task A_third_connection_from_one_address_gets_421_until_one_closes()
    {
        await using var first = _server.Connect("203.0.113.5");
        await using var second = _server.Connect("203.0.113.5");
        Assert.StartsWith("220", await first.ReadReplyAsync());
        Assert.StartsWith("220", await second.ReadReplyAsync());

        await using (var third = _server.Connect("203.0.113.5"))
        {
            Assert.Equal("421 4.7.0 Too many connections from your address", await third.ReadReplyAsync());
            Assert.True(await third.IsClosedAsync());
        }
        await using (var elsewhere = _server.Connect("203.0.113.6"))
            Assert.StartsWith("220", await elsewhere.ReadReplyAsync());

        await using (var implicitTls = _server.Connect("203.0.113.5", implicitTls: true))
            Assert.True(await implicitTls.IsClosedAsync()); // over the limit on implicit TLS: closed before any handshake

        Assert.StartsWith("221", await first.CommandAsync("QUIT"));
        await first.ServerTask.WaitAsync(TimeSpan.FromSeconds(10));
        await using var again = _server.Connect("203.0.113.5");
        Assert.StartsWith("220", await again.ReadReplyAsync());
    }

    [Fact]
    public async Task A_silent_client_gets_the_command_timeout()
    {
        await using var client = _server.Connect();
        await client.ReadReplyAsync();
        await _server.Clock.WaitForTimerAsync(CommandTimeout);
        _server.Clock.Advance(CommandTimeout);
        Assert.Equal("421 4.4.2 Command timeout, closing connection", await client.ReadReplyAsync());
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task A_client_trickling_a_command_byte_by_byte_gets_the_command_timeout_for_the_whole_line()
    {
        await using var client = _server.Connect();
        await client.ReadReplyAsync();
        await _server.Clock.WaitForTimerAsync(CommandTimeout);
        foreach (var b in "NOOP")
        {
            await client.SendAsync(b.ToString());
            await Task.Delay(100); // the server reads the byte, as it would from a slow network
            _server.Clock.Advance(TimeSpan.FromMinutes(1));
        }
        // A byte now and then does not extend the time a command line may take.
        _server.Clock.Advance(CommandTimeout - TimeSpan.FromMinutes(4));
        Assert.Equal("421 4.4.2 Command timeout, closing connection", await client.ReadReplyAsync());
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task A_stalled_DATA_gets_the_DATA_timeout_and_nothing_is_delivered()
    {
        await using var client = await _server.ConnectAuthenticatedAsync();
        await client.CommandAsync("MAIL FROM:<a@example.com>");
        await client.CommandAsync("RCPT TO:<b@example.com>");
        Assert.StartsWith("354", await client.CommandAsync("DATA"));
        await client.SendAsync("Subject: half a mess");
        await _server.Clock.WaitForTimerAsync(DataTimeout);
        _server.Clock.Advance(DataTimeout);
        Assert.Equal("421 4.4.2 DATA timeout, closing connection", await client.ReadReplyAsync());
        Assert.True(await client.IsClosedAsync());
        Assert.Empty(_server.Backend.Delivered);
        Assert.Empty(Directory.GetFiles(_server.SpoolDirectory, "*.eml.spool"));
    }

    [Fact]
    public async Task A_busy_but_endless_session_gets_the_session_timeout()
    {
        await using var client = _server.Connect();
        await client.ReadReplyAsync();
        var step = TimeSpan.FromMinutes(4);
        for (var elapsed = TimeSpan.Zero; elapsed + step < SessionTimeout; elapsed += step)
        {
            await _server.Clock.WaitForTimerAsync(CommandTimeout);
            _server.Clock.Advance(step);
            Assert.Equal("250 2.0.0 Ok", await client.CommandAsync("NOOP"));
        }
        await _server.Clock.WaitForTimerAsync(CommandTimeout);
        _server.Clock.Advance(step);
        Assert.Equal("421 4.4.2 Session timeout, closing connection", await client.ReadReplyAsync());
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Host_shutdown_answers_421_to_open_sessions()
    {
        await using var idle = _server.Connect();
        await idle.ReadReplyAsync();
        await using var busy = await _server.ConnectAuthenticatedAsync("203.0.113.9");
        await busy.CommandAsync("MAIL FROM:<a@example.com>");
        await _server.Clock.WaitForTimerAsync(CommandTimeout);

        _server.Lifetime.StopApplication();

        Assert.Equal("421 4.3.2 Service shutting down", await idle.ReadReplyAsync());
        Assert.Equal("421 4.3.2 Service shutting down", await busy.ReadReplyAsync());
        Assert.True(await idle.IsClosedAsync());
        Assert.True(await busy.IsClosedAsync());
    }

    [Fact]
    public async Task A_client_that_never_completes_the_TLS_handshake_is_disconnected()
    {
        await using var client = _server.Connect(implicitTls: true);
        await _server.Clock.WaitForTimerAsync(_server.Options.TlsHandshakeTimeout);
        _server.Clock.Advance(_server.Options.TlsHandshakeTimeout);
        Assert.True(await client.IsClosedAsync());
        await client.ServerTask.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Host_shutdown_during_a_slow_login_answers_421()
    {
        _server.Backend.HoldLogins = new TaskCompletionSource();
        await using var client = _server.Connect();
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        await client.SendAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice\0correct horse"u8.ToArray()) + "\r\n");
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            while (_server.Backend.LoginAttempts.IsEmpty)
                await Task.Delay(5, wait.Token);

        _server.Lifetime.StopApplication();

        Assert.Equal("421 4.3.2 Service shutting down", await client.ReadReplyAsync());
        Assert.True(await client.IsClosedAsync());
    }
}
