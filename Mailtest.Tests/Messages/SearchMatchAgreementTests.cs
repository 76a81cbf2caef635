using Mailtest.Tests.Infrastructure;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Tests.Data;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Tests.Messages;

/// <summary>
/// Wait-for-message judges a just-stored message in memory (<see cref="MessageSearchMatch"/>); lists
/// judge it in the database (<see cref="MessageSearchFilter"/>). Both must give the same answers, on
/// each provider (see the two classes at the end).
/// </summary>
public abstract class SearchMatchAgreementContract(CoreServices core)
{
    public static TheoryData<string> Queries =>
    [
        "invoice", "INVOICE", "\"order 42\"", "from:shop", "from:odoo@shop.example", "to:bob", "to:carol", "subject:welcome",
        "-subject:welcome", "is:unread", "is:read", "has:attachment", "-has:attachment", "after:2000-01-01", "before:2000-01-01",
        "parcel-7q4z", "from:shop -to:bob", "is:starred", "100%", "a_b", "to:BOB@EXAMPLE", "SUBJECT:inv/42", "-from:NEWS",
        "tag:orders", "tag:ORDERS", "-tag:orders", "tag:\"two words\"", "tag:order", "tag:seed -tag:orders", "tag:seed tag:orders", "tag:!!",
    ];

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task The_in_memory_match_agrees_with_the_database_search(string query)
    {
        var ct = TestContext.Current.CancellationToken;
        var environment = await core.CreateEnvironmentAsync();
        await core.IngestAsync(environment, "X-Tags: Orders, two  words\r\n" + SampleMail.Plain("Welcome Alice", "Your invoice is attached"), "shop@example.com", "alice@example.com");
        await core.IngestAsync(environment, "X-Tags: seed\r\n" + SampleMail.Plain("Order 42 shipped", "parcel-7Q4Z is on its way", to: "Bob <bob@example.com>"), "shop@example.com", "bob@example.com");
        await core.IngestAsync(environment, SampleMail.WithAttachments("Invoice INV/42"), "odoo@shop.example", "bob@example.com", "carol@example.com");
        await core.IngestAsync(environment, SampleMail.Plain("Discount 100% a_b", "Save now", from: "News <news@other.example>"), "news@other.example", "dave@example.com");
        var store = core.Get<IMessageStore>();
        var all = (await store.ListAsync(new MessageListQuery([environment.Id]), ct)).Items;
        await store.SetReadAsync(all[^1].Id, true, [environment.Id], ct);
        await core.Get<IngestWriter>().WaitUntilSearchableAsync(ct);

        var fromDatabase = (await store.ListAsync(new MessageListQuery([environment.Id], query), ct)).Items.Select(m => m.Id).Order().ToList();

        await using var db = await core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync(ct);
        var candidates = await (from m in db.Messages.Where(m => m.EnvironmentId == environment.Id)
                                join e in db.MessageSearchEntries on m.Id equals e.MessageId
                                select new { m.Id, Candidate = new SearchCandidate(m.EnvelopeFrom, m.EnvelopeTo, m.From, m.To, m.Cc, m.Subject, m.IsRead, m.AttachmentCount, m.ReceivedUtc, e.Text, m.Tags) })
            .ToListAsync(ct);
        var parsed = SearchQuery.Parse(query);
        var inMemory = candidates.Where(c => parsed.Matches(c.Candidate)).Select(c => c.Id).Order().ToList();

        Assert.Equal(fromDatabase, inMemory);
    }
}

[TestCategory(Needs.Unit)]
public sealed class SqliteSearchMatchAgreementTests(SqliteCore fixture) : SearchMatchAgreementContract(fixture.Core), IClassFixture<SqliteCore>;

[TestCategory(Needs.Postgres)]
public sealed class PostgresSearchMatchAgreementTests(PostgresCore fixture) : SearchMatchAgreementContract(fixture.Core), IClassFixture<PostgresCore>;

/// <summary>
/// A word found in thousands of messages of another environment (past the point where the index's
/// matches stop driving the query) and in none or few of this environment's thousand newest: it is
/// answered from the index's candidates in this environment. Absent here gives an empty page, present
/// here exactly the messages that hold it, and its negation the others. On each provider.
/// </summary>
[TestCategory(Needs.Postgres)]
public sealed class SearchCommonElsewhereTests(PostgresServer postgres)
{
    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task A_word_common_in_another_environment_finds_exactly_this_environments_messages_that_hold_it(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var core = await CoreServices.StartAsync(provider, postgres);
        var here = await core.CreateEnvironmentAsync(name: "here");
        var elsewhere = await core.CreateEnvironmentAsync(name: "elsewhere");
        await IngestManyAsync(core, elsewhere, 2_100, i => SampleMail.Plain($"Bulk {i}", $"Your quarterlyreport number {i}"));
        await IngestManyAsync(core, here, 1_000, i => SampleMail.Plain($"Lunch {i}", "Shall we meet at noon?"));
        await core.Get<IngestWriter>().WaitUntilSearchableAsync(ct);
        var store = core.Get<IMessageStore>();

        Assert.Empty((await store.ListAsync(new MessageListQuery([here.Id], "quarterlyreport"), ct)).Items);
        Assert.Equal(50, (await store.ListAsync(new MessageListQuery([here.Id], "-quarterlyreport"), ct)).Items.Count);

        var holding = await core.IngestAsync(here, SampleMail.Plain("Numbers", "The QuarterlyReport is attached"), "c@example.com", "b@example.com");
        var apart = await core.IngestAsync(here, SampleMail.Plain("Almost", "quarterly report, written apart"), "c@example.com", "b@example.com");
        await core.Get<IngestWriter>().WaitUntilSearchableAsync(ct);

        Assert.Equal([holding], (await store.ListAsync(new MessageListQuery([here.Id], "quarterlyreport"), ct)).Items.Select(m => m.Id));
        var without = (await store.ListAsync(new MessageListQuery([here.Id], "-quarterlyreport"), ct)).Items;
        Assert.Equal(apart, without[0].Id);
        Assert.DoesNotContain(holding, without.Select(m => m.Id));
        var both = (await store.ListAsync(new MessageListQuery([here.Id, elsewhere.Id], "quarterlyreport"), ct)).Items;
        Assert.Equal(50, both.Count);
        Assert.Equal(holding, both[0].Id); // the newest of them
        Assert.All(both.Skip(1), m => Assert.Equal(elsewhere.Id, m.EnvironmentId));
    }

    internal static async Task IngestManyAsync(CoreServices core, Mailtest.Core.Tenancy.ProjectEnvironment environment, int count, Func<int, string> mail,
        string envelopeTo = "x@example.com")
    {
        for (var start = 0; start < count; start += 100)
            await Task.WhenAll(Enumerable.Range(start, Math.Min(100, count - start)).Select(i => core.IngestAsync(environment, mail(i), "bulk@example.com", envelopeTo)));
    }
}
