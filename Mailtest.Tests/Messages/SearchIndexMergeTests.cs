using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Tests.Data;
using Mailtest.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Mailtest.Tests.Messages;

/// <summary>
/// Each index step writes a segment of SQLite's full-text index, and every search reads each segment.
/// Under load FTS5 merges them only 16 at a time (cheap indexing); once mail stops they are merged
/// further, so a quiet inbox is searched through few segments, with the same answers.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class SearchIndexMergeTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Segments_written_under_load_are_merged_once_mail_stops_and_search_finds_the_same()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-indexmerge-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dataDirectory);
        try
        {
            await using var services = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: dataDirectory);
            var environment = await services.CreateEnvironmentAsync();
            var writer = services.Get<IngestWriter>();
            var ids = new List<Guid>();
            for (var i = 0; i < 12; i++)
            {
                // Searchable before the next arrives: each message in an index step, so a segment, of its own.
                ids.Add(await services.IngestAsync(environment, SampleMail.Plain($"Parcel {i}", $"Tracking otter-{i:D2}-route for the merged index")));
                await writer.WaitUntilSearchableAsync(Cancel);
            }

            await using var index = await SearchIndexFiles.OpenAsync(dataDirectory);
            const string Segments = """SELECT count(DISTINCT "segid") FROM "search"."MessageSearchIndex_idx" """;
            // Fewer than 16: FTS5 has not merged them by itself (with its default of 4 it would have).
            Assert.True(await SearchIndexFiles.ExecuteAsync(index, Segments) >= 12, "each step wrote a segment that stayed unmerged");

            // Nothing comes any more: within a few seconds the index loop merges them.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            long segments;
            while ((segments = await SearchIndexFiles.ExecuteAsync(index, Segments)) > 3 && DateTime.UtcNow < deadline)
                await Task.Delay(100, Cancel);
            Assert.InRange(segments, 1, 3);

            await SearchIndexFiles.ExecuteAsync(index, SearchIndexFiles.IntegrityCheck); // throws if the index is damaged
            var store = services.Get<IMessageStore>();
            var found = await store.ListAsync(new MessageListQuery([environment.Id], "otter-"), Cancel);
            Assert.Equal(ids.Order(), found.Items.Select(m => m.Id).Order());
            Assert.Equal([ids[7]], (await store.ListAsync(new MessageListQuery([environment.Id], "otter-07-route"), Cancel)).Items.Select(m => m.Id));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
        }
    }
}
