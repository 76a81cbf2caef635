using Mailtest.Tests.Infrastructure;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Data;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Tests.Messages;

/// <summary>What the message store promises, run against each provider (see the two classes at the end).</summary>
public abstract class MessageStoreContract(CoreServices core)
{
    private IMessageStore Store => core.Get<IMessageStore>();

    private MailtestDbContext Db() => core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContext();

    [Fact]
    public async Task Ingest_keeps_the_summary_the_envelope_and_the_attachment_index()
    {
        var environment = await core.CreateEnvironmentAsync();
        var eml = SampleMail.WithAttachments("Invoice INV/2026/0042");

        var id = await core.IngestAsync(environment, eml, "bounce@shop.example", "bob@example.com", "carol@example.com", "auditor@example.com");

        var message = await Store.GetAsync(id, [environment.Id]);
        Assert.NotNull(message);
        Assert.Equal("bounce@shop.example", message.EnvelopeFrom);
        Assert.Contains("auditor@example.com", message.EnvelopeTo); // a Bcc recipient: only the envelope knows it
        Assert.Contains("odoo@shop.example", message.From);
        Assert.Equal("bob@example.com", message.To);
        Assert.Contains("carol@example.com", message.Cc);
        Assert.Equal("support@shop.example", message.ReplyTo);
        Assert.Equal("Invoice INV/2026/0042", message.Subject);
        Assert.Equal("invoice-42@shop.example", message.MessageIdHeader);
        Assert.Equal(Encoding.UTF8.GetByteCount(eml), message.Size);
        Assert.Equal(1, message.AttachmentCount);
        Assert.Equal(environment.Project!.OrganizationId, message.OrganizationId);

        var pdf = Assert.Single(message.Attachments, a => !a.IsInline);
        Assert.Equal(("INV-2026-0042.pdf", "application/pdf", "2", 1000L), (pdf.FileName, pdf.ContentType, pdf.PartPath, pdf.Size));
        var logo = Assert.Single(message.Attachments, a => a.IsInline);
        Assert.Equal(("logo@shop", "image/png", "1.2", 300L), (logo.ContentId, logo.ContentType, logo.PartPath, logo.Size));
    }

    [Fact]
    public async Task Raw_message_round_trips_byte_for_byte_and_is_stored_encrypted()
    {
        var environment = await core.CreateEnvironmentAsync();
        var eml = Encoding.UTF8.GetBytes(SampleMail.WithAttachments("Quarterly statement for ACME-7731"));

        var id = await core.IngestAsync(environment, eml, "a@example.com", ["b@example.com"]);

        await using (var raw = await Store.OpenRawAsync(id, [environment.Id]))
        {
            Assert.NotNull(raw);
            using var copy = new MemoryStream();
            await raw.CopyToAsync(copy);
            Assert.Equal(eml, copy.ToArray());
        }
        await using var db = Db();
        var stored = await db.MessageContents.Where(c => c.MessageId == id).Select(c => c.Sealed).SingleAsync();
        Assert.Equal(-1, stored.AsSpan().IndexOf("ACME-7731"u8));
        // Not merely compressed: the stored bytes do not decompress to the message.
        Assert.False(DecompressesTo(stored, eml));
    }

    [Fact]
    public async Task A_message_of_many_chunks_round_trips_and_one_sealed_before_chunking_still_opens()
    {
        var environment = await core.CreateEnvironmentAsync();
        // Random bytes do not compress: the sealed message spans several chunks.
        var large = Encoding.ASCII.GetBytes(SampleMail.Plain("Export", Convert.ToBase64String(RandomNumberGenerator.GetBytes(400_000), Base64FormattingOptions.InsertLineBreaks)));
        var largeId = await core.IngestAsync(environment, large, "a@example.com", ["b@example.com"]);
        Assert.Equal(large, await ReadRawAsync(largeId, environment.Id));

        // A message stored before chunked sealing: Brotli, then one AES-GCM block (version byte 1).
        var earlier = Encoding.UTF8.GetBytes(SampleMail.Plain("Stored last year", "Before chunks."));
        var earlierId = await core.IngestAsync(environment, earlier, "a@example.com", ["b@example.com"]);
        using (var compressed = new MemoryStream())
        {
            using (var brotli = new BrotliStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) brotli.Write(earlier);
            var oldFormat = core.Get<Mailtest.Core.Security.SecretBox>().Seal(compressed.ToArray(), earlierId.ToByteArray());
            Assert.Equal(1, oldFormat[0]);
            await using var db = Db();
            await db.MessageContents.Where(c => c.MessageId == earlierId).ExecuteUpdateAsync(s => s.SetProperty(c => c.Sealed, oldFormat));
        }
        Assert.Equal(earlier, await ReadRawAsync(earlierId, environment.Id));
    }

    [Fact]
    public async Task Messages_sealed_in_chunks_of_Brotli_before_Zstandard_still_open()
    {
        var environment = await core.CreateEnvironmentAsync();
        var box = core.Get<Mailtest.Core.Security.ChunkedSecretBox>();
        // The two ways Brotli was written: a small message in one call (window 2^18), a large one as a stream (2^22).
        var small = Encoding.UTF8.GetBytes(SampleMail.Plain("Sealed with Brotli in memory", "Invoice INV/2026/00042 " + new string('x', 2_000)));
        var large = Encoding.ASCII.GetBytes(SampleMail.Plain("Sealed with Brotli as a stream", Convert.ToBase64String(RandomNumberGenerator.GetBytes(300_000), Base64FormattingOptions.InsertLineBreaks)));
        foreach (var (eml, compress) in new (byte[], Func<byte[], byte[]>)[]
        {
            (small, bytes =>
            {
                var output = new byte[BrotliEncoder.GetMaxCompressedLength(bytes.Length)];
                Assert.True(BrotliEncoder.TryCompress(bytes, output, out var length, quality: 1, window: 18));
                return output[..length];
            }),
            (large, bytes =>
            {
                using var output = new MemoryStream();
                using (var brotli = new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true)) brotli.Write(bytes);
                return output.ToArray();
            }),
        })
        {
            var id = await core.IngestAsync(environment, eml, "a@example.com", ["b@example.com"]);
            var brotliSealed = box.Seal(compress(eml), id.ToByteArray());
            await using (var db = Db())
                await db.MessageContents.Where(c => c.MessageId == id).ExecuteUpdateAsync(s => s.SetProperty(c => c.Sealed, brotliSealed));
            Assert.Equal(eml, await ReadRawAsync(id, environment.Id));
        }
    }

    private async Task<byte[]> ReadRawAsync(Guid id, Guid environmentId)
    {
        await using var raw = await Store.OpenRawAsync(id, [environmentId]);
        Assert.NotNull(raw);
        using var copy = new MemoryStream();
        await raw.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task Altered_ciphertext_is_refused_rather_than_served()
    {
        var environment = await core.CreateEnvironmentAsync();
        var id = await core.IngestAsync(environment, SampleMail.Plain("Tamper me"));
        await using (var db = Db())
        {
            var content = await db.MessageContents.SingleAsync(c => c.MessageId == id);
            var altered = content.Sealed.ToArray();
            altered[^5] ^= 0x01;
            content.Sealed = altered;
            await db.SaveChangesAsync();
        }

        await Assert.ThrowsAnyAsync<CryptographicException>(() => Store.OpenRawAsync(id, [environment.Id]));
    }

    [Fact]
    public async Task Sealed_content_moved_onto_another_message_does_not_open()
    {
        var environment = await core.CreateEnvironmentAsync();
        var first = await core.IngestAsync(environment, SampleMail.Plain("First"));
        var second = await core.IngestAsync(environment, SampleMail.Plain("Second"));
        await using (var db = Db())
        {
            var sealedFirst = await db.MessageContents.Where(c => c.MessageId == first).Select(c => c.Sealed).SingleAsync();
            var target = await db.MessageContents.SingleAsync(c => c.MessageId == second);
            target.Sealed = sealedFirst;
            await db.SaveChangesAsync();
        }

        await Assert.ThrowsAnyAsync<CryptographicException>(() => Store.OpenRawAsync(second, [environment.Id]));
    }

    [Fact]
    public async Task A_malformed_message_is_still_stored_and_its_raw_kept()
    {
        var environment = await core.CreateEnvironmentAsync();
        byte[] garbage = [.. "this is not\0 a mail \xff\xfe"u8, 0, 0xC3, 0x28, .. "\r\n\r\n--"u8];

        var id = await core.IngestAsync(environment, garbage, "x@example.com", ["y@example.com"]);

        var page = await Store.ListAsync(new MessageListQuery([environment.Id]));
        Assert.Equal(id, Assert.Single(page.Items).Id);
        await using var raw = await Store.OpenRawAsync(id, [environment.Id]);
        using var copy = new MemoryStream();
        await raw!.CopyToAsync(copy);
        Assert.Equal(garbage, copy.ToArray());
    }

    [Fact]
    public async Task Pages_run_newest_first_without_duplicates_or_gaps_even_when_times_tie()
    {
        var environment = await core.CreateEnvironmentAsync();
        var ids = new List<Guid>();
        for (var i = 0; i < 23; i++)
            ids.Add(await core.IngestAsync(environment, SampleMail.Plain($"Message {i}")));
        // Ten messages received in the same instant: the id breaks the tie.
        var sameInstant = new DateTime(2026, 11, 24, 6, 0, 0, DateTimeKind.Utc);
        var tied = ids.Take(10).ToList();
        await using (var db = Db())
            await db.Messages.Where(m => tied.Contains(m.Id)).ExecuteUpdateAsync(s => s.SetProperty(m => m.ReceivedUtc, sameInstant));

        var seen = new List<MessageListItem>();
        MessageCursor? cursor = null;
        var pages = 0;
        do
        {
            var page = await Store.ListAsync(new MessageListQuery([environment.Id], After: cursor, PageSize: 4));
            seen.AddRange(page.Items);
            cursor = page.Next;
            pages++;
        } while (cursor is not null && pages < 20);

        Assert.Equal(6, pages);
        Assert.Equal(23, seen.Count);
        Assert.Equal(ids.ToHashSet(), seen.Select(m => m.Id).ToHashSet());
        Assert.Equal(ids.Skip(10).Reverse(), seen.Take(13).Select(m => m.Id)); // newest first
        for (var i = 1; i < seen.Count; i++)
            Assert.True(seen[i - 1].ReceivedUtc >= seen[i].ReceivedUtc, "newest first");
    }

    [Fact]
    public async Task Search_understands_every_field_negation_and_phrases()
    {
        var environment = await core.CreateEnvironmentAsync();
        var reset = await core.IngestAsync(environment, SampleMail.Plain("Password reset for Alice", "Click the link to reset your password."), "shop@example.com", "alice@example.com");
        var invoice = await core.IngestAsync(environment, SampleMail.WithAttachments("Invoice INV/2026/0042"), "odoo@shop.example", "bob@example.com", "hidden-bcc@example.com");
        var digest = await core.IngestAsync(environment, SampleMail.Plain("Weekly digest", "Café au lait and ünïcode.", from: "News <news@letters.example>", to: "dave@example.com", cc: "Erin <erin@example.com>"), "news@letters.example", "dave@example.com", "erin@example.com");
        await Store.SetReadAsync(digest, true, [environment.Id]);
        await using (var db = Db())
        {
            await db.Messages.Where(m => m.Id == reset).ExecuteUpdateAsync(s => s.SetProperty(m => m.ReceivedUtc, new DateTime(2026, 1, 10, 12, 0, 0, DateTimeKind.Utc)));
            await db.Messages.Where(m => m.Id == invoice).ExecuteUpdateAsync(s => s.SetProperty(m => m.ReceivedUtc, new DateTime(2026, 3, 5, 8, 0, 0, DateTimeKind.Utc)));
        }
        // Another organization's mail that matches everything must never show up.
        var other = await core.CreateEnvironmentAsync();
        await core.IngestAsync(other, SampleMail.Plain("Password reset invoice weekly digest", "reset ready"), "shop@example.com", "alice@example.com", "hidden-bcc@example.com");
        await Searchable();

        async Task<Guid[]> Search(string query) =>
            [.. (await Store.ListAsync(new MessageListQuery([environment.Id], query))).Items.Select(m => m.Id).Order()];
        Guid[] Expect(params Guid[] ids) => [.. ids.Order()];

        Assert.Equal(Expect(reset), await Search("reset"));
        Assert.Equal(Expect(reset), await Search("RESET"));
        Assert.Equal(Expect(digest), await Search("igest"));                    // substrings match
        Assert.Equal(Expect(invoice), await Search("ready"));                   // HTML body, as text
        Assert.Equal(Expect(), await Search("color"));                          // <style> is not text
        Assert.Equal(Expect(digest), await Search("ünïcode"));
        Assert.Equal(Expect(reset), await Search("\"link to reset\""));
        Assert.Equal(Expect(), await Search("\"reset to link\""));
        Assert.Equal(Expect(reset), await Search("password alice"));            // every term must hold
        Assert.Equal(Expect(invoice), await Search("hidden-bcc"));              // envelope recipients are searched
        Assert.Equal(Expect(), await Search("100%"));                           // LIKE wildcards are literal
        Assert.Equal(Expect(), await Search("inv_2026"));

        Assert.Equal(Expect(digest), await Search("from:news"));
        Assert.Equal(Expect(invoice), await Search("from:ODOO"));
        Assert.Equal(Expect(reset), await Search("from:shop@example.com"));
        Assert.Equal(Expect(digest), await Search("to:erin"));                  // Cc
        Assert.Equal(Expect(invoice), await Search("to:hidden-bcc"));           // Bcc, from the envelope
        Assert.Equal(Expect(reset), await Search("to:alice"));
        Assert.Equal(Expect(digest), await Search("subject:weekly"));
        Assert.Equal(Expect(reset), await Search("subject:\"reset for\""));
        Assert.Equal(Expect(), await Search("subject:alice@example.com"));

        Assert.Equal(Expect(digest), await Search("is:read"));
        Assert.Equal(Expect(reset, invoice), await Search("is:unread"));
        Assert.Equal(Expect(invoice), await Search("has:attachment"));
        Assert.Equal(Expect(invoice), await Search("invoice has:attachment"));

        Assert.Equal(Expect(invoice, digest), await Search("-reset"));
        Assert.Equal(Expect(reset, invoice), await Search("-from:news"));
        Assert.Equal(Expect(reset, digest), await Search("-has:attachment"));
        Assert.Equal(Expect(digest), await Search("-is:unread"));
        Assert.Equal(Expect(reset, digest), await Search("-\"INV/2026\""));
        Assert.Equal(Expect(reset, invoice), await Search("-to:erin"));
        Assert.Equal(Expect(reset, invoice), await Search("-subject:weekly"));

        Assert.Equal(Expect(invoice, digest), await Search("after:2026-03-01"));
        Assert.Equal(Expect(reset), await Search("before:2026-03-01"));
        Assert.Equal(Expect(reset), await Search("after:2026-01-01 before:2026-03-01"));
        Assert.Equal(Expect(invoice, digest), await Search("-before:2026-03-01"));
        Assert.Equal(Expect(invoice), await Search("after:2026-03-05 before:2026-03-06"));
    }

    [Fact]
    public async Task Search_finds_terms_across_words_whatever_their_case_and_past_repeated_words()
    {
        // The SQLite index holds each distinct in-word trigram once, lower-cased; LIKE on the stored
        // text decides. Terms that span words, change case, carry punctuation or non-ASCII letters, or
        // sit after a word repeated thousands of times must still be found, and only where they occur.
        var environment = await core.CreateEnvironmentAsync();
        var body = "Grüße aus Köln!\r\nThe quarterly report: see attachment.\r\n" +
            string.Join(" ", Enumerable.Repeat("filler", 2_000)) + " zebracrossing-42 closes it.";
        var letter = await core.IngestAsync(environment, SampleMail.Plain("Status", body), "a@example.com", "b@example.com");
        var other = await core.IngestAsync(environment, SampleMail.Plain("Report", "A report, quarterly. Gruss aus Koeln. zebracrossing-43"), "a@example.com", "b@example.com");
        await Searchable();

        async Task<Guid[]> Search(string query) =>
            [.. (await Store.ListAsync(new MessageListQuery([environment.Id], query))).Items.Select(m => m.Id).Order()];
        Guid[] Expect(params Guid[] ids) => [.. ids.Order()];

        Assert.Equal(Expect(letter), await Search("\"ly rep\""));                 // across two words
        Assert.Equal(Expect(letter), await Search("\"QUARTERLY Report\""));
        Assert.Equal(Expect(), await Search("\"report quarterly\""));             // both words are there, not in this order
        Assert.Equal(Expect(letter, other), await Search("report quarterly"));    // as two terms: each is somewhere
        Assert.Equal(Expect(letter), await Search("\"GRüßE AUS KöLN!\""));       // capitals and non-ASCII letters
        Assert.Equal(Expect(letter), await Search("\"rt: s\""));                  // punctuation inside a word
        Assert.Equal(Expect(letter), await Search("\"t: s\""));                   // no piece of three characters: no index
        Assert.Equal(Expect(letter), await Search("zebracrossing-42"));           // past 2,000 times the same word
        Assert.Equal(Expect(letter), await Search("\"filler filler ZEBRAcrossing-42 closes\""));
        Assert.Equal(Expect(other), await Search("zebracrossing-43"));
        Assert.Equal(Expect(), await Search("\"filler zebracrossing-43\""));
        Assert.Equal(Expect(), await Search("fillerfiller"));
    }

    [Fact]
    public async Task Nothing_is_returned_for_environments_the_caller_did_not_pass()
    {
        var mine = await core.CreateEnvironmentAsync();
        var theirs = await core.CreateEnvironmentAsync();
        var id = await core.IngestAsync(theirs, SampleMail.Plain("Their secret"));

        Assert.Empty((await Store.ListAsync(new MessageListQuery([]))).Items);
        Assert.Empty((await Store.ListAsync(new MessageListQuery([mine.Id]))).Items);
        Assert.Empty((await Store.ListAsync(new MessageListQuery([mine.Id], "secret"))).Items);
        Assert.Null(await Store.GetAsync(id, [mine.Id]));
        Assert.Null(await Store.OpenRawAsync(id, [mine.Id]));
        Assert.False(await Store.DeleteAsync(id, [mine.Id]));
        await Store.SetReadAsync(id, true, [mine.Id]);
        await Store.MarkAllReadAsync([mine.Id]);

        var still = await Store.GetAsync(id, [theirs.Id]);
        Assert.NotNull(still);
        Assert.False(still.IsRead);
        Assert.Equal(1, await Store.CountAsync(theirs.Id));
    }

    [Fact]
    public async Task Read_flags_and_delete_change_the_list_and_tell_subscribers()
    {
        var environment = await core.CreateEnvironmentAsync();
        var first = await core.IngestAsync(environment, SampleMail.Plain("One", "unique-word-kestrel"));
        var second = await core.IngestAsync(environment, SampleMail.Plain("Two"));
        var deleted = new TaskCompletionSource<MessageDeleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = core.Get<MessageEvents>().Subscribe([environment.Id], (e, _) =>
        {
            if (e is MessageDeleted d && d.MessageId == first) deleted.TrySetResult(d);
            return Task.CompletedTask;
        });

        await Searchable();
        Assert.Equal([first], (await Store.ListAsync(new MessageListQuery([environment.Id], "unique-word-kestrel"))).Items.Select(m => m.Id));
        await Store.SetReadAsync(second, true, [environment.Id]);
        Assert.Equal([second], (await Store.ListAsync(new MessageListQuery([environment.Id], "is:read"))).Items.Select(m => m.Id));
        await Store.MarkAllReadAsync([environment.Id]);
        Assert.Empty((await Store.ListAsync(new MessageListQuery([environment.Id], "is:unread"))).Items);

        Assert.True(await Store.DeleteAsync(first, [environment.Id]));

        var published = await deleted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(environment.Id, published.EnvironmentId);
        Assert.Null(await Store.GetAsync(first, [environment.Id]));
        Assert.Null(await Store.OpenRawAsync(first, [environment.Id]));
        Assert.Empty((await Store.ListAsync(new MessageListQuery([environment.Id], "unique-word-kestrel"))).Items);
        await using var db = Db();
        Assert.False(await db.MessageSearchEntries.AnyAsync(e => e.MessageId == first));
        Assert.False(await db.MessageAttachments.AnyAsync(a => a.MessageId == first));
        Assert.Equal(1, await Store.CountAsync(environment.Id));
    }

    [Fact]
    public async Task Usage_counts_an_organizations_messages_and_bytes_across_its_environments()
    {
        var staging = await core.CreateEnvironmentAsync();
        var organizationId = staging.Project!.OrganizationId;
        var development = await core.Get<TenancyAdministration>().CreateEnvironmentAsync(staging.ProjectId, "dev", EnvironmentKind.Development);
        development.Project = staging.Project;
        var usage = core.Get<OrganizationUsage>();
        Assert.Equal(new UsageFigures(0, 0), await usage.GetAsync(organizationId));

        var first = SampleMail.Plain("First", new string('a', 1234));
        var second = SampleMail.WithAttachments("Second");
        var firstId = await core.IngestAsync(staging, first);
        await core.IngestAsync(development, second);
        var bothSizes = Encoding.UTF8.GetByteCount(first) + Encoding.UTF8.GetByteCount(second);
        Assert.Equal(new UsageFigures(2, bothSizes), await usage.GetAsync(organizationId));

        await Store.DeleteAsync(firstId, [staging.Id]);
        Assert.Equal(new UsageFigures(1, Encoding.UTF8.GetByteCount(second)), await usage.GetAsync(organizationId));
    }

    [Fact]
    public async Task Two_hundred_concurrent_ingests_share_commits_and_each_caller_returns_only_after_its_commit()
    {
        var environment = await core.CreateEnvironmentAsync();
        var writer = core.Get<IngestWriter>();
        var commitsBefore = writer.CommitCount;
        var captured = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        using var subscription = core.Get<MessageEvents>().Subscribe([environment.Id], (e, _) =>
        {
            if (e is MessageCaptured c && c.EnvironmentId == environment.Id) captured.Add(c.MessageId);
            return Task.CompletedTask;
        });

        var visibleOnReturn = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            var id = await core.IngestAsync(environment, SampleMail.Plain($"Concurrent {i}"));
            // Released: the message must already be committed, seen from another connection.
            await using var db = Db();
            return (Id: id, Visible: await db.Messages.AnyAsync(m => m.Id == id));
        })));

        Assert.All(visibleOnReturn, r => Assert.True(r.Visible, $"{r.Id} was released before its commit"));
        Assert.Equal(200, visibleOnReturn.Select(r => r.Id).Distinct().Count());
        Assert.Equal(200, await Store.CountAsync(environment.Id));
        Assert.True(writer.CommitCount - commitsBefore < 200, $"{writer.CommitCount - commitsBefore} commits for 200 messages: sessions did not share commits");
        await WaitUntilAsync(() => captured.Count == 200);
        Assert.Equal(visibleOnReturn.Select(r => r.Id).ToHashSet(), captured.ToHashSet());
    }

    /// <summary>The full-text index follows commits by a moment: wait until it holds everything ingested so far.</summary>
    private Task Searchable() => core.Get<IngestWriter>().WaitUntilSearchableAsync(TestContext.Current.CancellationToken);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
            await Task.Delay(20, timeout.Token);
    }

    [Fact]
    public async Task A_word_found_in_thousands_of_messages_pages_newest_first_like_a_rare_one()
    {
        // Past 2,000 index matches the SQLite store walks the environment newest first instead of
        // gathering every match: the pages must be the same as the index would give.
        var environment = await core.CreateEnvironmentAsync();
        const int count = 2_050;
        var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(i => core.IngestAsync(environment,
            SampleMail.Plain($"Order {i}", body: i == 7 ? "Your invoice and a zebra." : "Your invoice is attached."))));
        await Searchable();

        var all = await PagesAsync(environment.Id, null);
        var invoices = await PagesAsync(environment.Id, "INVOICE");
        Assert.Equal(count, invoices.Count);
        Assert.Equal(all, invoices);
        Assert.Equal(ids.ToHashSet(), invoices.ToHashSet());

        Assert.Equal([ids[7]], await PagesAsync(environment.Id, "invoice zebra"));
        Assert.Empty(await PagesAsync(environment.Id, "-invoice"));
        Assert.Equal(count - 1, (await PagesAsync(environment.Id, "invoice -zebra")).Count);
    }

    private async Task<List<Guid>> PagesAsync(Guid environmentId, string? search)
    {
        var ids = new List<Guid>();
        MessageCursor? after = null;
        do
        {
            var page = await Store.ListAsync(new MessageListQuery([environmentId], search, after, PageSize: 200));
            ids.AddRange(page.Items.Select(m => m.Id));
            after = page.Next;
        } while (after is not null);
        return ids;
    }

    /// <summary>Whether <paramref name="data"/>, or the same without its first (version) byte, decompresses to <paramref name="expected"/>
    /// as Zstandard (what is stored now) or Brotli (what was).</summary>
    private static bool DecompressesTo(byte[] data, byte[] expected) =>
        new[] { data, data[1..] }.Any(candidate =>
            Decompresses(() => new ZstdSharp.DecompressionStream(new MemoryStream(candidate)), expected)
            || Decompresses(() => new BrotliStream(new MemoryStream(candidate), CompressionMode.Decompress), expected));

    private static bool Decompresses(Func<Stream> open, byte[] expected)
    {
        try
        {
            using var decompressed = open();
            using var output = new MemoryStream();
            decompressed.CopyTo(output);
            return output.ToArray().AsSpan().SequenceEqual(expected);
        }
        catch (Exception notCompressed) when (notCompressed is InvalidDataException or InvalidOperationException or ZstdSharp.ZstdException or IOException) { return false; }
    }
}

[TestCategory(Needs.Unit)]
public sealed class SqliteMessageStoreTests(SqliteCore fixture) : MessageStoreContract(fixture.Core), IClassFixture<SqliteCore>;

[TestCategory(Needs.Postgres)]
public sealed class PostgresMessageStoreTests(PostgresCore fixture) : MessageStoreContract(fixture.Core), IClassFixture<PostgresCore>;
