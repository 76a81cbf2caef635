using Mailtest.Tests.Infrastructure;
using System.Text;
using Mailtest.Smtp.Session;

namespace Mailtest.Tests.Smtp;

/// <summary>AUTH PLAIN and LOGIN as exchanges alone, with scripted client answers.</summary>
[TestCategory(Needs.Unit)]
public sealed class SaslExchangeTests
{
    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static async Task<(SaslOutcome Outcome, List<string> Prompts)> RunAsync(string mechanism, string? initial, params string?[] answers)
    {
        var prompts = new List<string>();
        var next = 0;
        var outcome = await SaslExchange.RunAsync(mechanism, initial, prompt =>
        {
            prompts.Add(Encoding.ASCII.GetString(Convert.FromBase64String(prompt)));
            return ValueTask.FromResult(answers[next++]);
        });
        return (outcome, prompts);
    }

    [Fact]
    public async Task PLAIN_with_and_without_an_initial_response()
    {
        Assert.Equal(new SaslOutcome.Credentials("jörg", "pw"), (await RunAsync("PLAIN", B64("\0jörg\0pw"))).Outcome);
        var (outcome, prompts) = await RunAsync("PLAIN", null, B64("admin\0jörg\0pw"));
        Assert.Equal(new SaslOutcome.Credentials("jörg", "pw"), outcome);
        Assert.Equal([""], prompts);
    }

    [Fact]
    public async Task LOGIN_asks_for_the_user_name_then_the_password()
    {
        var (outcome, prompts) = await RunAsync("LOGIN", null, B64("alice"), B64("correct horse"));
        Assert.Equal(new SaslOutcome.Credentials("alice", "correct horse"), outcome);
        Assert.Equal(["Username:", "Password:"], prompts);
    }

    [Theory]
    [InlineData("PLAIN", "not base64!", "501 5.5.2 Cannot decode response")]
    [InlineData("PLAIN", "AGFsaWNl", "501 5.5.2 Cannot decode response")] // "\0alice": no password part
    [InlineData("CRAM-MD5", null, "504 5.5.4 Unrecognized authentication type")]
    public async Task Malformed_or_unsupported_exchanges_are_refused(string mechanism, string? initial, string reply)
    {
        var refused = Assert.IsType<SaslOutcome.Refused>((await RunAsync(mechanism, initial)).Outcome);
        Assert.Equal(reply, refused.Reply.ToString());
    }

    [Fact]
    public async Task A_star_cancels_an_overlong_answer_is_refused_and_a_client_that_left_is_abandoned()
    {
        Assert.Equal("501 5.7.0 Authentication cancelled", ((SaslOutcome.Refused)(await RunAsync("LOGIN", null, "*")).Outcome).Reply.ToString());
        Assert.Equal("500 5.5.6 Line too long", ((SaslOutcome.Refused)(await RunAsync("PLAIN", null, SaslExchange.OverlongAnswer)).Outcome).Reply.ToString());
        Assert.IsType<SaslOutcome.Abandoned>((await RunAsync("LOGIN", B64("alice"), [null])).Outcome);
    }
}
