using System.Text;
using Mailtest.Core.Messages;
using Mailtest.Smtp;
using Mailtest.Tests.Infrastructure;
using MimeKit;

namespace Mailtest.Tests.Messages;

/// <summary>
/// A message held in memory is summarized with the thread's reused MIME parser: each summary must be
/// what a parser of its own gives, whatever the thread parsed before (another message, one it could not read).
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class MimeSummaryTests
{
    [Fact]
    public async Task Each_message_in_memory_is_summarized_as_by_a_parser_of_its_own_whatever_came_before()
    {
        var ct = TestContext.Current.CancellationToken;
        string[] messages =
        [
            SampleMail.WithAttachments("Invoice INV/2026/0042"),
            SampleMail.Plain("Héllo =?utf-8?q?w=C3=B6rld?=", body: "First line.\r\nSecond line.", cc: "Dave <dave@example.com>"),
            "no colon line\r\n\r\nbody", // MimeKit cannot read its headers
            "",
            "From: a\r\nX-Tags: orders, seed\r\n",
            SampleMail.WithAttachments("After the unreadable ones"),
            "Subject: html only\r\nContent-Type: text/html\r\n\r\n<p>Only <b>HTML</b> here.</p>\r\n",
        ];
        foreach (var text in messages.Concat(messages.Reverse()))
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            var summary = await MimeSummary.ReadAsync(SpooledMessage.FromBytes(bytes), ct);
            Assert.Equal(Describe(OwnParse(bytes, ct)), Describe(summary));
        }
    }

    [Fact]
    public async Task A_message_read_on_one_thread_does_not_show_in_the_next_summary()
    {
        var ct = TestContext.Current.CancellationToken;
        var first = await MimeSummary.ReadAsync(SpooledMessage.FromBytes(Encoding.UTF8.GetBytes(SampleMail.Plain("First", body: "alpha"))), ct);
        var second = await MimeSummary.ReadAsync(SpooledMessage.FromBytes(Encoding.UTF8.GetBytes("Subject: Second\r\n\r\nbeta\r\n")), ct);

        Assert.Equal(("First", "alpha"), (first.Subject, first.BodyText.Trim()));
        Assert.Equal(("Second", "beta", (string?)null), (second.Subject, second.BodyText.Trim(), second.From));
    }

    private static MimeSummary OwnParse(byte[] bytes, CancellationToken ct)
    {
        try
        {
            return MimeSummary.FromMessage(MimeMessage.Load(ParserOptions.Default, new MemoryStream(bytes), persistent: false, ct), ct);
        }
        catch (FormatException)
        {
            return MimeSummary.Unreadable;
        }
    }

    private static string Describe(MimeSummary s) =>
        string.Join(" | ", s.From, s.To, s.Cc, s.ReplyTo, s.Subject, s.MessageId, s.BodyText, string.Join(",", s.Tags),
            string.Join(";", s.Attachments.Select(a => $"{a.PartPath} {a.FileName} {a.ContentType} {a.ContentId} {a.IsInline} {a.Size}")));
}
