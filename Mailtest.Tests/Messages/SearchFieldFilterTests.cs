using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Tests.Data;
using Mailtest.Tests.Infrastructure;

namespace Mailtest.Tests.Messages;

/// <summary>
/// from:, to: and subject: of a value rare among thousands of messages (past the newest messages
/// the probe tests, so on PostgreSQL the trigram index within the environment names the candidates):
/// exactly the messages whose field holds it, newest first and page by page, not those that only
/// mention it in their body, nor another environment's, the same on each provider.
/// </summary>
[TestCategory(Needs.Postgres)]
public sealed class SearchFieldFilterTests(PostgresServer postgres)
{
    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task A_rare_recipient_sender_or_subject_among_thousands_finds_exactly_its_messages(DatabaseProvider provider)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var core = await CoreServices.StartAsync(provider, postgres);
        var here = await core.CreateEnvironmentAsync(name: "here");
        var elsewhere = await core.CreateEnvironmentAsync(name: "elsewhere");
        await SearchCommonElsewhereTests.IngestManyAsync(core, here, 2_600, i => SampleMail.Plain($"Lunch {i}", "Shall we meet at noon?"));
        var toHeader = await core.IngestAsync(here, SampleMail.Plain("Your order", to: "Rare Recipient <rare.recipient@client.example>"), "shop@example.com", "rare.recipient@client.example");
        var cc = await core.IngestAsync(here, SampleMail.Plain("Your order", cc: "rare.recipient@client.example"), "shop@example.com", "alice@example.com", "rare.recipient@client.example");
        var bcc = await core.IngestAsync(here, SampleMail.Plain("Your order"), "shop@example.com", "alice@example.com", "rare.recipient@client.example");
        var mentions = await core.IngestAsync(here, SampleMail.Plain("Forwarded", "Forwarded from Rare.Recipient@client.example: the audit is due"), "shop@example.com", "alice@example.com");
        var sender = await core.IngestAsync(here, SampleMail.Plain("Hello", from: "Rare Sender <rare.sender@vendor.example>"), "rare.sender@vendor.example", "alice@example.com");
        var subject = await core.IngestAsync(here, SampleMail.Plain("Quarterly AUDIT results"), "shop@example.com", "alice@example.com");
        await SearchCommonElsewhereTests.IngestManyAsync(core, here, 2_600, i => SampleMail.Plain($"Dinner {i}", "Shall we meet at eight?"));
        await SearchCommonElsewhereTests.IngestManyAsync(core, elsewhere, 30, i => SampleMail.Plain($"Order {i}", to: "rare.recipient@client.example"), "rare.recipient@client.example");
        await core.Get<IngestWriter>().WaitUntilSearchableAsync(ct);
        var store = core.Get<IMessageStore>();

        async Task<Guid[]> Search(string query, params Guid[] environments) =>
            [.. (await store.ListAsync(new MessageListQuery(environments.Length == 0 ? [here.Id] : environments, query), ct)).Items.Select(m => m.Id)];

        Assert.Equal([bcc, cc, toHeader], await Search("to:rare.recipient"));          // envelope (Bcc), Cc, To; not the body's mention
        Assert.Equal([bcc, cc, toHeader], await Search("to:RARE.RECIPIENT@CLIENT.EXAMPLE"));
        Assert.Equal([mentions, bcc, cc, toHeader], await Search("rare.recipient"));  // free text reads the body too
        Assert.Equal([sender], await Search("from:rare.sender"));
        Assert.Equal([subject], await Search("subject:audit"));
        Assert.Empty(await Search("to:nobody.anywhere"));
        Assert.Empty(await Search("to:rare.sender"));
        Assert.Equal([toHeader], await Search("to:rare.recipient subject:order -to:alice@example.com -from:sender -x@"));
        var others = await Search("-to:rare.recipient");
        Assert.Equal(50, others.Length);
        Assert.DoesNotContain(others, id => id == toHeader || id == cc || id == bcc);

        var firstPage = await store.ListAsync(new MessageListQuery([here.Id], "to:rare.recipient", PageSize: 2), ct);
        Assert.Equal([bcc, cc], firstPage.Items.Select(m => m.Id));
        var nextPage = await store.ListAsync(new MessageListQuery([here.Id], "to:rare.recipient", firstPage.Next, 2), ct);
        Assert.Equal([toHeader], nextPage.Items.Select(m => m.Id));

        var both = (await store.ListAsync(new MessageListQuery([here.Id, elsewhere.Id], "to:rare.recipient"), ct)).Items;
        Assert.Equal(33, both.Count);
        Assert.Equal(30, both.Count(m => m.EnvironmentId == elsewhere.Id));
        Assert.Equal(both.OrderByDescending(m => m.ReceivedUtc).ThenByDescending(m => m.Id).Select(m => m.Id), both.Select(m => m.Id));
    }
}
