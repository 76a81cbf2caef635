using Mailtest.Tests.Infrastructure;
using System.Buffers;
using System.Text;
using Mailtest.Smtp.Protocol;

namespace Mailtest.Tests.Smtp;

/// <summary>The grammar, line by line: what each command line parses to.</summary>
[TestCategory(Needs.Unit)]
public sealed class SmtpCommandParserTests
{
    private static SmtpCommand Parse(string line) => SmtpCommandParser.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(line)));

    /// <summary>The same line split across buffer segments parses the same (the pipe hands out multi-segment sequences).</summary>
    private static SmtpCommand ParseSegmented(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        Segment? first = null, last = null;
        foreach (var b in bytes)
        {
            var next = new Segment(new[] { b }, last);
            first ??= next;
            last = next;
        }
        return first is null ? Parse("") : SmtpCommandParser.Parse(new ReadOnlySequence<byte>(first, 0, last!, 1));
    }

    [Theory]
    [InlineData("MAIL FROM:<a@example.com>", "a@example.com", null, false)]
    [InlineData("mail from:<a@example.com>", "a@example.com", null, false)]
    [InlineData("MAIL FROM: <a@example.com>", "a@example.com", null, false)]
    [InlineData("MAIL FROM:<> SIZE=0", "", 0L, false)]
    [InlineData("MAIL FROM:<a.b+tag@sub.example.com> SIZE=1048576 BODY=8BITMIME", "a.b+tag@sub.example.com", 1048576L, false)]
    [InlineData("MAIL FROM:<\"a\\\"b c\"@example.com>", "\"a\\\"b c\"@example.com", null, false)]
    [InlineData("MAIL FROM:<@hop1,@hop2:a@example.com>", "a@example.com", null, false)]
    [InlineData("MAIL FROM:<a@[IPv6:2001:db8::1]>", "a@[IPv6:2001:db8::1]", null, false)]
    [InlineData("MAIL FROM:<δοκιμή@παράδειγμα.δοκιμή> SMTPUTF8", "δοκιμή@παράδειγμα.δοκιμή", null, true)]
    [InlineData("MAIL FROM:<a@example.com> AUTH=<>", "a@example.com", null, false)]
    public void MAIL_parses_path_and_parameters(string line, string path, long? size, bool smtpUtf8)
    {
        foreach (var command in new[] { Parse(line), ParseSegmented(line) })
        {
            var mail = Assert.IsType<MailCommand>(command);
            Assert.Equal(path, mail.ReversePath.Value);
            Assert.Equal(size, mail.DeclaredSize);
            Assert.Equal(smtpUtf8, mail.SmtpUtf8);
            Assert.Equal(smtpUtf8, mail.ReversePath.IsInternational);
        }
    }

    [Theory]
    [InlineData("MAIL FROM:a@example.com", "501 5.1.7")]
    [InlineData("MAIL FROM:<a@example.com", "501 5.1.7")]
    [InlineData("MAIL FROM:<a..b@example.com>", "501 5.1.7")]
    [InlineData("MAIL FROM:<a@example..com>", "501 5.1.7")]
    [InlineData("MAIL FROM:<a@>", "501 5.1.7")]
    [InlineData("MAIL FROM:<@example.com>", "501 5.1.7")]
    [InlineData("MAIL FROM:<a@[1.2.3.4>", "501 5.1.7")]
    [InlineData("MAIL FROM<a@example.com>", "501 5.5.4")]
    [InlineData("MAIL FROM:<a@example.com> SIZE=-1", "501 5.5.4")]
    [InlineData("MAIL FROM:<a@example.com> SIZE", "501 5.5.4")]
    [InlineData("MAIL FROM:<a@example.com> SMTPUTF8=yes", "501 5.5.4")]
    [InlineData("MAIL FROM:<a@example.com> ENVID=x", "555 5.5.4")]
    [InlineData("MAIL FROM:<a@example.com>garbage", "501 5.5.4")]
    [InlineData("RCPT TO:<b@example.com> NOTIFY=NEVER", "555 5.5.4")]
    [InlineData("RCPT TO:b@example.com", "501 5.1.7")]
    [InlineData("EHLO", "501 5.5.4")]
    [InlineData("HELO   ", "501 5.5.4")]
    [InlineData("DATA now", "501 5.5.4")]
    [InlineData("QUIT please", "501 5.5.4")]
    [InlineData("AUTH", "501 5.5.4")]
    [InlineData("VRFY", "501 5.5.4")]
    public void Malformed_lines_keep_their_verb_and_carry_the_error(string line, string error)
    {
        var malformed = Assert.IsType<MalformedCommand>(Parse(line));
        Assert.StartsWith(error, malformed.Error.ToString());
        Assert.IsType<MalformedCommand>(ParseSegmented(line));
    }

    [Theory]
    [InlineData("RCPT TO:<b@example.com>", "b@example.com")]
    [InlineData("RCPT TO:<Postmaster>", "Postmaster")]
    [InlineData("rcpt to: <用户@例子.广告>", "用户@例子.广告")]
    public void RCPT_parses_the_forward_path(string line, string path) =>
        Assert.Equal(path, Assert.IsType<RcptCommand>(Parse(line)).ForwardPath.Value);

    [Theory]
    [InlineData("EHLO client.example", "Ehlo", "client.example")]
    [InlineData("helo [192.0.2.1]", "Helo", "[192.0.2.1]")]
    public void HELO_and_EHLO_keep_the_client_name(string line, string verb, string domain)
    {
        var hello = Assert.IsType<HeloCommand>(Parse(line));
        Assert.Equal(Enum.Parse<SmtpVerb>(verb), hello.Verb);
        Assert.Equal(domain, hello.Domain);
    }

    [Theory]
    [InlineData("AUTH PLAIN", "PLAIN", null)]
    [InlineData("auth login dXNlcg==", "LOGIN", "dXNlcg==")]
    [InlineData("AUTH PLAIN =", "PLAIN", "=")]
    public void AUTH_parses_mechanism_and_initial_response(string line, string mechanism, string? initial)
    {
        var auth = Assert.IsType<AuthCommand>(Parse(line));
        Assert.Equal(mechanism, auth.Mechanism);
        Assert.Equal(initial, auth.InitialResponse);
    }

    [Theory]
    [InlineData("DATA", "Data")]
    [InlineData("rset", "Rset")]
    [InlineData("NOOP anything at all", "Noop")]
    [InlineData("QUIT", "Quit")]
    [InlineData("StartTLS", "StartTls")]
    public void Bare_commands_parse(string line, string verb) => Assert.Equal(Enum.Parse<SmtpVerb>(verb), Assert.IsType<BareCommand>(Parse(line)).Verb);

    [Theory]
    [InlineData("")]
    [InlineData("HELP")]
    [InlineData("EXPN list")]
    [InlineData("MAILFROM:<a@example.com>")]
    [InlineData("GET / HTTP/1.1")]
    [InlineData("\u00ffMAIL")]
    public void Unknown_verbs_are_unknown(string line) => Assert.IsType<UnknownCommand>(Parse(line));

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data, Segment? previous)
        {
            Memory = data;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
