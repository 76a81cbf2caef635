using Mailtest.Tests.Infrastructure;
using System.Text;

namespace Mailtest.Tests.Smtp;

/// <summary>
/// Every command in every state: accepted (any reply but 503) or refused with 503 5.5.1. The expected
/// matrix is written out from RFC 5321 §4.1.4 here, independently of the engine's table.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class SmtpStateTableTests : IAsyncLifetime
{
    private readonly InMemorySmtpServer _server = new(o => o.AllowAuthWithoutTls = true);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;
    public ValueTask DisposeAsync() => _server.DisposeAsync();

    public static readonly string[] States = ["connected", "identified", "mail", "recipient"];

    // command line → the states that accept it
    public static readonly Dictionary<string, string[]> Accepted = new()
    {
        ["EHLO client.example"] = States,
        ["HELO client.example"] = States,
        ["STARTTLS"] = ["identified"],
        ["AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0bob\0pw"))] = ["identified"],
        ["MAIL FROM:<a@example.com>"] = ["identified"],
        ["RCPT TO:<b@example.com>"] = ["mail", "recipient"],
        ["DATA"] = ["recipient"],
        ["RSET"] = States,
        ["NOOP"] = States,
        ["VRFY someone"] = States,
        ["QUIT"] = States,
    };

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var state in States)
            foreach (var command in Accepted.Keys)
                data.Add(state, command);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Each_command_is_accepted_or_answered_503_by_state(string state, string command)
    {
        _server.Backend.WithLogin("bob", "pw");
        await using var client = _server.Connect();
        Assert.StartsWith("220", await client.ReadReplyAsync());
        if (state != "connected")
        {
            Assert.StartsWith("250", await client.CommandAsync("EHLO client.example"));
            if (state != "identified" || command.StartsWith("MAIL", StringComparison.Ordinal))
                await client.AuthenticatePlainAsync("alice", "correct horse");
        }
        if (state is "mail" or "recipient")
            Assert.StartsWith("250", await client.CommandAsync("MAIL FROM:<a@example.com>"));
        if (state is "recipient")
            Assert.StartsWith("250", await client.CommandAsync("RCPT TO:<b@example.com>"));

        var reply = await client.CommandAsync(command);
        if (Accepted[command].Contains(state))
            Assert.False(reply.StartsWith("503", StringComparison.Ordinal), $"{command} in {state}: {reply}");
        else
            Assert.Matches(@"^503 5\.5\.1 Bad sequence of commands: \S+ is accepted only .+", reply);
    }
}
