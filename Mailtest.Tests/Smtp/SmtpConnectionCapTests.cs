using System.Net.Sockets;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Mailtest.Tests.Smtp;

/// <summary>The global connection cap over real TCP: many addresses together cannot exhaust the server.</summary>
[TestCategory(Needs.Host)]
public sealed class SmtpConnectionCapTests : IAsyncLifetime
{
    private readonly CapturedLogs _logs = new();
    private SmtpTestHost _host = null!;

    public async ValueTask InitializeAsync() =>
        _host = await SmtpTestHost.StartAsync(settings: new Dictionary<string, string?> { ["Mailtest:Smtp:MaxConnections"] = "2" }, logs: _logs);

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private async Task<SmtpTestClient> ConnectAsync()
    {
        var socket = new TcpClient();
        await socket.ConnectAsync(_host.StartTls);
        return new SmtpTestClient(socket.GetStream());
    }

    [Fact]
    public async Task Past_the_global_cap_a_connection_gets_421_and_the_incident_is_logged_once()
    {
        await using var first = await ConnectAsync();
        await using var second = await ConnectAsync();
        Assert.StartsWith("220 ", await first.ReadReplyAsync());
        Assert.StartsWith("220 ", await second.ReadReplyAsync());

        for (var i = 0; i < 2; i++)
        {
            await using var over = await ConnectAsync();
            Assert.Equal("421 4.3.2 Too many connections to this server right now, try again later", await over.ReadReplyAsync());
            Assert.True(await over.IsClosedAsync());
        }
        var warning = Assert.Single(_logs.AtLeast(LogLevel.Warning));
        Assert.Contains("MaxConnections", warning.Message);

        Assert.StartsWith("221", await first.CommandAsync("QUIT"));
        Assert.True(await first.IsClosedAsync());
        await using var again = await ConnectAsync();
        Assert.StartsWith("220 ", await again.ReadReplyAsync());
    }
}
