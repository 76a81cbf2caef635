using Mailtest.Tests.Infrastructure;
using System.Text;
using Mailtest.Smtp;
using Microsoft.Extensions.Configuration;
using Mailtest.Tests.Smtp.Fakes;

namespace Mailtest.Tests.Smtp;

/// <summary>The protocol over in-memory pipes: what a client sees for each thing it may send.</summary>
[TestCategory(Needs.Unit)]
public sealed class SmtpSessionTests : IAsyncLifetime
{
    private readonly InMemorySmtpServer _server = new(o =>
    {
        o.AllowAuthWithoutTls = true;
        o.MaxRecipients = 3;
        o.MaxLineLength = 1000;
    });

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;
    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task<SmtpTestClient> InTransactionAsync(string from = "<sender@example.com>", string to = "<rcpt@example.com>")
    {
        var client = await _server.ConnectAuthenticatedAsync();
        Assert.StartsWith("250 2.1.0", await client.CommandAsync($"MAIL FROM:{from}"));
        Assert.StartsWith("250 2.1.5", await client.CommandAsync($"RCPT TO:{to}"));
        return client;
    }

    private async Task<DeliveredMessage> SendDataAsync(SmtpTestClient client, string data)
    {
        Assert.StartsWith("354 ", await client.CommandAsync("DATA"));
        await client.SendAsync(data);
        Assert.Matches(@"^250 2\.0\.0 Ok: queued as <\d+>$", await client.ReadReplyAsync());
        return _server.Backend.Delivered.Last();
    }

    [Fact]
    public async Task A_second_Mailtest_process_on_the_same_data_directory_leaves_a_message_arriving_here_alone()
    {
        await using var client = await InTransactionAsync();
        Assert.StartsWith("354 ", await client.CommandAsync("DATA"));
        var firstHalf = "Subject: halves\r\n\r\n" + FillerLines(SpooledMessage.InMemoryLimitBytes + Mailtest.Smtp.Spool.MessageDataReceiver.ChunkBytes); // a chunk past memory: into a spool file
        await client.SendAsync(firstHalf);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.GetFiles(_server.SpoolDirectory, "*.eml.spool").Length == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The message never reached the spool.");
            await Task.Delay(10);
        }

        // The admin command line run next to the live server opens the same spool, as a process of its own would.
        using (Spool(_server.DataDirectory)) { }
        await client.SendAsync("Second half\r\n.\r\n");
        Assert.Matches(@"^250 2\.0\.0 Ok: queued as <\d+>$", await client.ReadReplyAsync());
        Assert.Equal(firstHalf + "Second half\r\n", _server.Backend.Delivered.Last().Text);
    }

    /// <summary>Lines of 100 bytes (CRLF included), at least <paramref name="bytes"/> of them in all.</summary>
    private static string FillerLines(int bytes) =>
        string.Concat(Enumerable.Range(0, (bytes + 99) / 100).Select(i => $"{i:D8} " + new string('f', 89) + "\r\n"));

    [Fact]
    public void Leftovers_of_a_crash_are_removed_by_the_next_process_that_owns_the_spool()
    {
        var data = Path.Combine(Path.GetTempPath(), $"mailtest-spool-{Guid.NewGuid():N}");
        try
        {
            var leftover = Path.Combine(data, "spool", "crashed.eml.spool");
            Directory.CreateDirectory(Path.GetDirectoryName(leftover)!);
            File.WriteAllText(leftover, "Subject: never acknowledged\r\n");
            using (Spool(data))
                Assert.False(File.Exists(leftover));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static Mailtest.Smtp.Spool.MessageSpool Spool(string dataDirectory) => new(
        Microsoft.Extensions.Options.Options.Create(new SmtpOptions()),
        new SmtpDataDirectory(new ConfigurationBuilder().AddInMemoryCollection([new(SmtpDataDirectory.ConfigurationKey, dataDirectory)]).Build()),
        Microsoft.Extensions.Logging.Abstractions.NullLogger<Mailtest.Smtp.Spool.MessageSpool>.Instance);

    [Fact]
    public async Task Greeting_and_EHLO_advertise_the_extensions_with_only_PLAIN_and_LOGIN()
    {
        await using var client = _server.Connect();
        Assert.StartsWith("220 mailtest ESMTP", await client.ReadReplyAsync());
        var ehlo = await client.CommandAsync("EHLO client.example");
        var lines = ehlo.Split('\n');
        Assert.Equal("250-mailtest Hello client.example", lines[0]);
        Assert.Contains("250-PIPELINING", lines);
        Assert.Contains($"250-SIZE {_server.Options.MaxMessageBytes}", lines);
        Assert.Contains("250-8BITMIME", lines);
        Assert.Contains("250-SMTPUTF8", lines);
        Assert.Contains("250-ENHANCEDSTATUSCODES", lines);
        Assert.Contains("250-STARTTLS", lines);
        Assert.Equal("250 AUTH PLAIN LOGIN", lines[^1]);
        Assert.Equal("221 2.0.0 Bye", await client.CommandAsync("QUIT"));
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task A_whole_transaction_delivers_the_envelope_and_the_exact_message()
    {
        await using var client = await InTransactionAsync();
        Assert.StartsWith("250 2.1.5", await client.CommandAsync("RCPT TO:<second@example.com>"));
        var delivered = await SendDataAsync(client, "Subject: hi\r\n\r\nBody line\r\n.\r\n");
        Assert.Equal("sender@example.com", delivered.Transaction.EnvelopeFrom);
        Assert.Equal(["rcpt@example.com", "second@example.com"], delivered.Transaction.EnvelopeTo);
        Assert.Equal("Subject: hi\r\n\r\nBody line\r\n", delivered.Text);
        Assert.Equal(delivered.Content.Length, delivered.Transaction.Size);
        Assert.Equal("alice", delivered.Transaction.Mailbox.Username);
        Assert.Null(Assert.Single(_server.Backend.SpoolFiles)); // a small message is held in memory: no spool file at all
        Assert.Empty(Directory.GetFiles(_server.SpoolDirectory, "*.eml.spool"));
    }

    [Theory]
    [InlineData(SpooledMessage.InMemoryLimitBytes - 100, false)] // the largest size held in memory (lines of 100 bytes)
    [InlineData(SpooledMessage.InMemoryLimitBytes + 100, true)] // just past it: spilled to a file
    [InlineData(3 * 1024 * 1024, true)] // far past it
    public async Task A_message_is_delivered_byte_for_byte_from_memory_or_from_a_spool_file_removed_afterwards(int size, bool inFile)
    {
        await using var client = await InTransactionAsync();
        var message = new StringBuilder("Subject: sized\r\n\r\n");
        for (var i = 0; message.Length < size; i++) // lines of 100 bytes, the last one cut to make exactly `size` bytes
            message.Append(($"{i:D8} " + new string('f', 89))[..(Math.Min(100, size - message.Length) - 2)]).Append("\r\n");
        Assert.Equal(size, message.Length);
        var delivered = await SendDataAsync(client, message + ".\r\n");
        Assert.Equal(message.ToString(), delivered.Text);
        Assert.Equal(size, delivered.Transaction.Size);
        var spoolFile = Assert.Single(_server.Backend.SpoolFiles);
        Assert.Equal(inFile, spoolFile is not null);
        if (spoolFile is not null)
            Assert.False(File.Exists(spoolFile)); // deleted once the backend answered
        Assert.Empty(Directory.GetFiles(_server.SpoolDirectory, "*.eml.spool"));
    }

    [Fact]
    public async Task Pipelined_commands_in_one_write_get_their_replies_in_order()
    {
        await using var client = await _server.ConnectAuthenticatedAsync();
        await client.SendAsync("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n");
        Assert.StartsWith("250 2.1.0", await client.ReadReplyAsync());
        Assert.StartsWith("250 2.1.5", await client.ReadReplyAsync());
        Assert.StartsWith("250 2.1.5", await client.ReadReplyAsync());
        Assert.StartsWith("354 ", await client.ReadReplyAsync());
        await client.SendAsync("Subject: pipelined\r\n\r\nx\r\n.\r\nRSET\r\nNOOP\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued", await client.ReadReplyAsync());
        Assert.StartsWith("250 2.0.0 Reset", await client.ReadReplyAsync());
        Assert.Equal("250 2.0.0 Ok", await client.ReadReplyAsync());
    }

    [Fact]
    public async Task Dot_stuffed_lines_are_unstuffed()
    {
        await using var client = await InTransactionAsync();
        var delivered = await SendDataAsync(client, "..leading dot\r\n...\r\n.x\r\nend\r\n.\r\n");
        Assert.Equal(".leading dot\r\n..\r\nx\r\nend\r\n", delivered.Text);
    }

    [Fact]
    public async Task An_empty_body_is_an_ordinary_message()
    {
        await using var client = await InTransactionAsync();
        var delivered = await SendDataAsync(client, ".\r\n");
        Assert.Empty(delivered.Content);
        Assert.Equal(0, delivered.Transaction.Size);
    }

    [Fact]
    public async Task A_stuffed_lone_dot_is_an_ordinary_line()
    {
        await using var client = await InTransactionAsync();
        var delivered = await SendDataAsync(client, "before\r\n..\r\nafter\r\n.\r\n");
        Assert.Equal("before\r\n.\r\nafter\r\n", delivered.Text);
    }

    [Fact]
    public async Task Bare_LF_ends_lines_and_is_stored_as_CRLF()
    {
        await using var client = await InTransactionAsync();
        var delivered = await SendDataAsync(client, "Subject: lf\n\nline one\nline two\r\n.\n");
        Assert.Equal("Subject: lf\r\n\r\nline one\r\nline two\r\n", delivered.Text);
        Assert.Equal("250 2.0.0 Ok", await client.CommandAsync("NOOP\n"));
    }

    [Fact]
    public async Task Eight_bit_bodies_are_kept_byte_for_byte()
    {
        await using var client = await InTransactionAsync();
        Assert.StartsWith("354 ", await client.CommandAsync("DATA"));
        var body = "Subject: caf\u00e9\r\n\r\n\u00c7a va? \u65e5\u672c\r\n"u8.ToArray().Concat(new byte[] { 0xE9, 0xFF, 0x0D, 0x0A, (byte)'.', 0x0D, 0x0A }).ToArray();
        await client.SendAsync(body);
        Assert.StartsWith("250 2.0.0 Ok: queued", await client.ReadReplyAsync());
        Assert.Equal(body[..^3], _server.Backend.Delivered.Last().Content);
    }

    [Fact]
    public async Task UTF8_addresses_are_accepted_with_SMTPUTF8_and_refused_without()
    {
        await using var client = await _server.ConnectAuthenticatedAsync();
        Assert.Equal("553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter", await client.CommandAsync("MAIL FROM:<j\u00f6rg@b\u00fccher.example>"));
        Assert.StartsWith("250 2.1.0", await client.CommandAsync("MAIL FROM:<j\u00f6rg@b\u00fccher.example> SMTPUTF8 BODY=8BITMIME"));
        Assert.StartsWith("250 2.1.5", await client.CommandAsync("RCPT TO:<\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a>"));
        var delivered = await SendDataAsync(client, "Subject: x\r\n\r\ny\r\n.\r\n");
        Assert.Equal("j\u00f6rg@b\u00fccher.example", delivered.Transaction.EnvelopeFrom);
        Assert.Equal(["\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a"], delivered.Transaction.EnvelopeTo);
    }

    [Fact]
    public async Task Null_sender_quoted_local_parts_and_address_literals_parse()
    {
        await using var client = await _server.ConnectAuthenticatedAsync();
        Assert.StartsWith("250 2.1.0", await client.CommandAsync("MAIL FROM:<>"));
        Assert.StartsWith("250 2.1.5", await client.CommandAsync("RCPT TO:<\"john doe\"@example.com>"));
        Assert.StartsWith("250 2.1.5", await client.CommandAsync("RCPT TO:<@relay.example:ops@[192.0.2.1]>"));
        var delivered = await SendDataAsync(client, "x\r\n.\r\n");
        Assert.Equal("", delivered.Transaction.EnvelopeFrom);
        Assert.Equal(["\"john doe\"@example.com", "ops@[192.0.2.1]"], delivered.Transaction.EnvelopeTo);
    }

    [Theory]
    [InlineData("MAIL FROM:sender@example.com", "501 5.1.7")]
    [InlineData("MAIL FROM:<sender@>", "501 5.1.7")]
    [InlineData("MAIL FROM:<a b@example.com>", "501 5.1.7")]
    [InlineData("MAIL TO:<a@example.com>", "501 5.5.4")]
    [InlineData("MAIL FROM:<a@example.com> SIZE=big", "501 5.5.4")]
    [InlineData("MAIL FROM:<a@example.com> RET=FULL", "555 5.5.4")]
    [InlineData("MAIL FROM:<a@example.com> BODY=BINARYMIME", "501 5.5.4")]
    public async Task Malformed_MAIL_gets_a_syntax_error_and_the_session_continues(string command, string expected)
    {
        await using var client = await _server.ConnectAuthenticatedAsync();
        Assert.StartsWith(expected, await client.CommandAsync(command));
        Assert.StartsWith("250 2.1.0", await client.CommandAsync("MAIL FROM:<a@example.com>"));
    }

    [Fact]
    public async Task Unknown_commands_get_500_and_malformed_ones_501()
    {
        await using var client = _server.Connect();
        await client.ReadReplyAsync();
        Assert.Equal("500 5.5.1 Unrecognized command", await client.CommandAsync("HELP"));
        Assert.Equal("500 5.5.1 Unrecognized command", await client.CommandAsync("GET / HTTP/1.1"));
        Assert.Equal("500 5.5.1 Unrecognized command", await client.CommandAsync(""));
        Assert.StartsWith("501 5.5.4", await client.CommandAsync("EHLO"));
        Assert.StartsWith("250", await client.CommandAsync("ehlo client.example"));
        Assert.StartsWith("501 5.5.4", await client.CommandAsync("RSET now"));
        Assert.Equal("252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery", await client.CommandAsync("VRFY postmaster"));
        Assert.StartsWith("501 5.5.4", await client.CommandAsync("VRFY"));
    }

    [Fact]
    public async Task An_overlong_command_line_gets_500_5_5_6_and_the_session_stays_in_step()
    {
        await using var client = _server.Connect();
        await client.ReadReplyAsync();
        Assert.Equal("500 5.5.6 Line too long", await client.CommandAsync("NOOP " + new string('x', 5000)));
        // Longer than any buffer the server holds, sent in pieces.
        await client.SendAsync("EHLO " + new string('y', 70_000));
        await client.SendAsync(new string('z', 70_000) + "\r\nNOOP\r\n");
        Assert.Equal("500 5.5.6 Line too long", await client.ReadReplyAsync());
        Assert.Equal("250 2.0.0 Ok", await client.ReadReplyAsync());
    }

    [Fact]
    public async Task Long_lines_in_DATA_are_captured_byte_for_byte()
    {
        // Real-world senders do this (a 5,000-character HTML line); refusing it made them drop the mail for good.
        var html = "<p>" + string.Concat(Enumerable.Range(0, 1500).Select(i => $"w{i} ")) + "</p>";
        var huge = new string('x', 100_000);
        await using var client = await InTransactionAsync();
        var delivered = await SendDataAsync(client, $"Subject: long\r\n\r\n{html}\r\n{huge}\nshort\r\n.\r\n");
        Assert.True(html.Length > 5000);
        Assert.Equal($"Subject: long\r\n\r\n{html}\r\n{huge}\r\nshort\r\n", Encoding.UTF8.GetString(delivered.Content));
        Assert.StartsWith("250 2.1.0", await client.CommandAsync("MAIL FROM:<again@example.com>"));
    }

    [Fact]
    public async Task SIZE_at_MAIL_over_the_mailbox_limit_is_refused()
    {
        _server.Backend.WithLogin("small", "pw", maxMessageBytes: 1024 * 1024);
        await using var client = _server.Connect();
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        await client.AuthenticatePlainAsync("small", "pw");
        Assert.Contains("250-SIZE 1048576", await client.CommandAsync("EHLO client.example"));
        Assert.Equal("552 5.3.4 Message exceeds fixed maximum message size", await client.CommandAsync("MAIL FROM:<a@example.com> SIZE=1048577"));
        Assert.StartsWith("250 2.1.0", await client.CommandAsync("MAIL FROM:<a@example.com> SIZE=1048576"));
    }

    [Fact]
    public async Task A_message_growing_past_the_limit_during_DATA_is_refused_after_the_dot_without_being_stored()
    {
        _server.Backend.WithLogin("small", "pw", maxMessageBytes: 1024 * 1024);
        await using var client = _server.Connect();
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        await client.AuthenticatePlainAsync("small", "pw");
        await client.CommandAsync("MAIL FROM:<a@example.com>");
        await client.CommandAsync("RCPT TO:<b@example.com>");
        Assert.StartsWith("354", await client.CommandAsync("DATA"));

        // 30 MB in 1 MB writes: the in-memory pipe holds 64 KB at most, so this only completes if the
        // server keeps reading (and dropping) well past the limit.
        var line = Encoding.ASCII.GetBytes(new string('A', 998) + "\r\n");
        var chunk = Enumerable.Repeat(line, 1024).SelectMany(l => l).ToArray();
        var spoolSeen = 0L;
        for (var i = 0; i < 30; i++)
        {
            await client.SendAsync(chunk);
            spoolSeen = Math.Max(spoolSeen, Directory.GetFiles(_server.SpoolDirectory, "*.eml.spool").Sum(f => new FileInfo(f).Length));
        }
        await client.SendAsync(".\r\n");
        Assert.Equal("552 5.3.4 Message exceeds fixed maximum message size", await client.ReadReplyAsync());
        Assert.InRange(spoolSeen, 0, 1024 * 1024);
        Assert.Empty(_server.Backend.Delivered);
        Assert.Empty(Directory.GetFiles(_server.SpoolDirectory, "*.eml.spool"));

        // Still usable: a small message goes through on the same connection.
        await client.CommandAsync("MAIL FROM:<a@example.com>");
        await client.CommandAsync("RCPT TO:<b@example.com>");
        var delivered = await SendDataAsync(client, "Subject: small\r\n\r\nok\r\n.\r\n");
        Assert.Equal("Subject: small\r\n\r\nok\r\n", delivered.Text);
    }

    [Fact]
    public async Task The_recipient_cap_answers_452_and_keeps_the_accepted_ones()
    {
        await using var client = await InTransactionAsync(to: "<r1@example.com>");
        Assert.StartsWith("250", await client.CommandAsync("RCPT TO:<r2@example.com>"));
        Assert.StartsWith("250", await client.CommandAsync("RCPT TO:<r3@example.com>"));
        Assert.Equal("452 4.5.3 Too many recipients", await client.CommandAsync("RCPT TO:<r4@example.com>"));
        var delivered = await SendDataAsync(client, "x\r\n.\r\n");
        Assert.Equal(["r1@example.com", "r2@example.com", "r3@example.com"], delivered.Transaction.EnvelopeTo);
    }

    [Fact]
    public async Task MAIL_before_AUTH_is_refused_with_530()
    {
        await using var client = _server.Connect();
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        Assert.Equal("530 5.7.0 Authentication required", await client.CommandAsync("MAIL FROM:<a@example.com>"));
    }

    [Fact]
    public async Task Backend_refusals_answer_the_greeting_and_MAIL()
    {
        _server.Backend.SenderRefusal = new SmtpReply(452, "4.3.1", "Insufficient system storage");
        await using (var client = await _server.ConnectAuthenticatedAsync())
            Assert.Equal("452 4.3.1 Insufficient system storage", await client.CommandAsync("MAIL FROM:<a@example.com>"));

        _server.Backend.ConnectionRefusal = new SmtpReply(421, "4.3.2", "Service shutting down");
        await using var refused = _server.Connect();
        Assert.Equal("421 4.3.2 Service shutting down", await refused.ReadReplyAsync());
        Assert.True(await refused.IsClosedAsync());
    }

    [Fact]
    public async Task A_failing_backend_gets_451_and_the_session_survives()
    {
        _server.Backend.DeliveryFailure = new InvalidOperationException("database is locked");
        await using var client = await InTransactionAsync();
        Assert.StartsWith("354", await client.CommandAsync("DATA"));
        await client.SendAsync("x\r\n.\r\n");
        Assert.Equal("451 4.3.0 Could not store the message, try again later", await client.ReadReplyAsync());
        Assert.Empty(Directory.GetFiles(_server.SpoolDirectory, "*.eml.spool"));
        Assert.Equal("250 2.0.0 Ok", await client.CommandAsync("NOOP"));
    }

    [Fact]
    public async Task Random_binary_lines_get_error_replies_and_the_session_stays_usable()
    {
        await using var client = await _server.ConnectAuthenticatedAsync();
        var random = new Random(5321);
        const int lines = 300;
        var garbage = new List<byte>();
        for (var i = 0; i < lines; i++)
        {
            var line = new byte[random.Next(0, 200)];
            random.NextBytes(line);
            garbage.AddRange(line.Select(b => b == (byte)'\n' ? (byte)'x' : b));
            garbage.AddRange("\r\n"u8.ToArray());
        }
        await client.SendAsync(garbage.ToArray());
        for (var i = 0; i < lines; i++)
            Assert.Matches("^5[05][0-9] ", await client.ReadReplyAsync());
        Assert.Equal("250 2.0.0 Ok", await client.CommandAsync("NOOP"));
        Assert.StartsWith("250 2.1.0", await client.CommandAsync("MAIL FROM:<a@example.com>"));
    }

    [Fact]
    public async Task Interleaved_sessions_keep_their_own_sender_envelope_and_message()
    {
        _server.Backend.WithLogin("bob", "pw");
        await using var alice = await _server.ConnectAuthenticatedAsync("192.0.2.21");
        await using var bob = _server.Connect("192.0.2.22");
        await bob.ReadReplyAsync();
        await bob.CommandAsync("EHLO bob.example");
        await bob.AuthenticatePlainAsync("bob", "pw");

        await alice.CommandAsync("MAIL FROM:<alice@example.com>");
        await bob.CommandAsync("MAIL FROM:<bob@example.com>");
        await bob.CommandAsync("RCPT TO:<for-bob@example.com>");
        await alice.CommandAsync("RCPT TO:<for-alice@example.com>");
        Assert.StartsWith("354", await alice.CommandAsync("DATA"));
        Assert.StartsWith("354", await bob.CommandAsync("DATA"));
        await bob.SendAsync("Subject: from bob\r\n");
        await alice.SendAsync("Subject: from alice\r\n\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued", await alice.ReadReplyAsync());
        await bob.SendAsync("\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued", await bob.ReadReplyAsync());

        var delivered = _server.Backend.Delivered.ToDictionary(d => d.Transaction.Mailbox.Username);
        Assert.Equal(("alice@example.com", "for-alice@example.com", "Subject: from alice\r\n\r\n"),
            (delivered["alice"].Transaction.EnvelopeFrom, delivered["alice"].Transaction.EnvelopeTo.Single(), delivered["alice"].Text));
        Assert.Equal(("bob@example.com", "for-bob@example.com", "Subject: from bob\r\n\r\n"),
            (delivered["bob"].Transaction.EnvelopeFrom, delivered["bob"].Transaction.EnvelopeTo.Single(), delivered["bob"].Text));
        Assert.Equal("192.0.2.22", delivered["bob"].Transaction.Peer.RemoteEndPoint.Address.ToString());
        Assert.Equal("bob.example", delivered["bob"].Transaction.Peer.HeloName);
    }
}
