using System.Text;
using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Preview;
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

    [Fact]
    public void A_text_parts_text_is_what_MimeKit_gives_for_it_whatever_its_charset_encoding_and_line_ends()
    {
        var random = new Random(20261127);
        string[] pieces = ["a", "Zz", " ", ".", "é", "€", "😀", "\r", "\n", "\r\n", "\r\r\n", "\n\r", "\0", "\t"];
        string?[] charsets = ["utf-8", "UTF-8", "iso-8859-1", "us-ascii", null];
        string?[] encodings = [null, "7bit", "8bit", "binary", "base64", "quoted-printable"];
        var fast = 0;
        for (var sample = 0; sample < 3_000; sample++)
        {
            var text = new StringBuilder();
            for (var i = random.Next(0, 40); i > 0; i--) text.Append(pieces[random.Next(pieces.Length)]);
            var body = new List<byte>();
            if (random.Next(10) == 0) body.AddRange(Encoding.UTF8.Preamble);
            body.AddRange(Encoding.UTF8.GetBytes(text.ToString()));
            if (random.Next(8) == 0) body.Insert(random.Next(body.Count + 1), 0xFF); // not UTF-8
            var charset = charsets[random.Next(charsets.Length)];
            var encoding = encodings[random.Next(encodings.Length)];
            var stored = encoding switch
            {
                "base64" => Encoding.ASCII.GetBytes(Convert.ToBase64String(body.ToArray(), Base64FormattingOptions.InsertLineBreaks)),
                "quoted-printable" => Encoding.ASCII.GetBytes(string.Concat(body.Select(b => b is >= 33 and <= 126 and not (byte)'=' ? ((char)b).ToString() : $"={b:X2}"))),
                _ => body.ToArray(),
            };
            var headers = $"Subject: sample {sample}\r\nContent-Type: text/{(random.Next(2) == 0 ? "plain" : "html")}" + (charset is null ? "" : $"; charset={charset}") + "\r\n"
                + (encoding is null ? "" : $"Content-Transfer-Encoding: {encoding}\r\n") + "\r\n";
            byte[] eml = [.. Encoding.ASCII.GetBytes(headers), .. stored];
            foreach (var persistent in new[] { false, true })
            {
                var part = (TextPart)MimeMessage.Load(new MemoryStream(eml), persistent).Body!;
                var read = MessageParts.Text(part);
                Assert.Equal(part.Text, read);
                Assert.Equal(part.Text, MessageParts.Text(part)); // reading it leaves the part as it was
                if (encoding is null or "7bit" or "8bit" or "binary" && charset?.ToLowerInvariant() == "utf-8") fast++;
            }
        }
        Assert.True(fast > 500, $"only {fast} samples took the UTF-8 path");
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
