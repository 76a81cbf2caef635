using Mailtest.Tests.Infrastructure;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Tests.Data;
using Microsoft.Data.Sqlite;

namespace Mailtest.Tests.Messages;

/// <summary>
/// Durable first, searchable a moment later: on SQLite the full-text index is filled after the
/// commit. A crash between the commit and the indexing must lose nothing searchable: the next start
/// indexes what was committed, without waiting for new mail.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class SearchIndexCatchUpTests
{
    [Fact]
    public async Task Text_committed_but_not_indexed_before_a_crash_is_searchable_after_the_restart()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-catchup-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dataDirectory);
        try
        {
            Guid environmentId;
            Guid[] committed;
            await using (var before = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: dataDirectory))
            {
                var environment = await before.CreateEnvironmentAsync();
                environmentId = environment.Id;
                committed = [
                    await before.IngestAsync(environment, SampleMail.Plain("Shipment", "parcel-tracking-7Q4Z")),
                    await before.IngestAsync(environment, SampleMail.Plain("Shipment again", "parcel-tracking-7Q4Z and more")),
                ];
                await before.Get<IngestWriter>().WaitUntilSearchableAsync(TestContext.Current.CancellationToken);
            }

            // The state a kill leaves between a commit and the index transaction that follows it:
            // the rows are committed, the index file and its progress mark do not have them yet.
            await using (var index = await SearchIndexFiles.OpenAsync(dataDirectory))
                await SearchIndexFiles.ExecuteAsync(index, """
                    INSERT INTO "search"."MessageSearchIndex"("MessageSearchIndex") VALUES ('delete-all');
                    UPDATE "search"."SearchIndexProgress" SET "IndexedThroughId" = 0;
                    """);
            await using (var unindexed = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: dataDirectory))
            {
                // Read through the store before the writer runs: the index has nothing yet,
                // so this test would fail if catch-up did not happen.
                var store = unindexed.Get<IMessageStore>();
                Assert.Empty((await store.ListAsync(new MessageListQuery([environmentId], "parcel-tracking-7q4z"), TestContext.Current.CancellationToken)).Items);
                Assert.Equal(2, (await store.ListAsync(new MessageListQuery([environmentId]), TestContext.Current.CancellationToken)).Items.Count);
            }

            await using var after = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: dataDirectory);
            await after.Get<IngestWriter>().WaitUntilSearchableAsync(TestContext.Current.CancellationToken);
            var found = await after.Get<IMessageStore>().ListAsync(new MessageListQuery([environmentId], "parcel-tracking-7q4z"), TestContext.Current.CancellationToken);
            Assert.Equal(committed.Order(), found.Items.Select(m => m.Id).Order());
            Assert.Equal([committed[1]], (await after.Get<IMessageStore>().ListAsync(new MessageListQuery([environmentId], "\"7Q4Z and more\""), TestContext.Current.CancellationToken)).Items.Select(m => m.Id));

            // Deleting a message removes its index entry (and only then may the index hold rows again).
            Assert.True(await after.Get<IMessageStore>().DeleteAsync(committed[0], [environmentId], TestContext.Current.CancellationToken));
            Assert.Equal([committed[1]], (await after.Get<IMessageStore>().ListAsync(new MessageListQuery([environmentId], "parcel-tracking"), TestContext.Current.CancellationToken)).Items.Select(m => m.Id));
            await after.Get<IngestWriter>().WaitUntilIndexCurrentAsync(TestContext.Current.CancellationToken);
            await using var check = await SearchIndexFiles.OpenAsync(dataDirectory);
            await SearchIndexFiles.ExecuteAsync(check, SearchIndexFiles.IntegrityCheck); // throws if the index is damaged
            // The index itself (not only LIKE after it) names just the message left.
            Assert.Equal([committed[1].ToString().ToUpperInvariant()], await SearchIndexFiles.NamedAsync(check, "parcel-tracking"));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
        }
    }
}
