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
            // the rows are committed, the index and its progress mark do not have them yet.
            await using (var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "mailtest.db")};Pooling=False"))
            {
                await connection.OpenAsync(TestContext.Current.CancellationToken);
                await using var crash = connection.CreateCommand();
                crash.CommandText = """
                    INSERT INTO "MessageSearchIndex"("MessageSearchIndex") VALUES ('delete-all');
                    UPDATE "SearchIndexProgress" SET "IndexedThroughId" = 0;
                    """;
                await crash.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
            }
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
            await using var check = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "mailtest.db")};Pooling=False");
            await check.OpenAsync(TestContext.Current.CancellationToken);
            await using var integrity = check.CreateCommand();
            integrity.CommandText = """INSERT INTO "MessageSearchIndex"("MessageSearchIndex", rank) VALUES ('integrity-check', 1);""";
            await integrity.ExecuteNonQueryAsync(TestContext.Current.CancellationToken); // throws if the index is damaged
            // The index itself (not only LIKE after it) names just the message left.
            await using var named = check.CreateCommand();
            named.CommandText = """
                SELECT e."MessageId" FROM "MessageSearchIndex" i JOIN "MessageSearchEntries" e ON e."Id" = i.rowid
                WHERE "MessageSearchIndex" MATCH $query
                UNION ALL SELECT 'no entry' FROM "MessageSearchIndex" i WHERE "MessageSearchIndex" MATCH $query AND i.rowid NOT IN (SELECT "Id" FROM "MessageSearchEntries")
                """;
            named.Parameters.AddWithValue("$query", SearchTrigrams.MatchQuery("parcel-tracking"));
            var names = new List<string>();
            await using (var reader = await named.ExecuteReaderAsync(TestContext.Current.CancellationToken))
                while (await reader.ReadAsync(TestContext.Current.CancellationToken)) names.Add(reader.GetString(0));
            Assert.Equal([committed[1].ToString().ToUpperInvariant()], names);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
        }
    }
}
