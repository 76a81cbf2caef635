using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Tests.Data;
using Mailtest.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Mailtest.Tests.Messages;

/// <summary>
/// SQLite's full-text index lives in a file of its own (mailtest.search.db), which Mailtest may lose
/// without losing anything searchable: it is rebuilt from the stored text. Deleted mail leaves it too,
/// through the deletion log the index loop applies.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class SearchIndexFileTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("deleted")]
    [InlineData("unreadable")]
    [InlineData("from another database")] // ahead of the main file's ids, as after restoring an older copy of mailtest.db
    [InlineData("of an older form")] // made by a Mailtest whose index words were the trigrams' three characters alone
    [InlineData("made before it could give pages back")] // the same words, in a file made without incremental vacuum
    public async Task An_index_file_lost_while_stopped_is_rebuilt_at_start_and_search_finds_everything(string loss)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-indexfile-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dataDirectory);
        try
        {
            Guid environmentId;
            var words = Enumerable.Range(0, 3).Select(i => $"walrus{i}{Guid.NewGuid():N}"[..16]).ToArray();
            var ids = new Guid[words.Length];
            await using (var before = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: dataDirectory))
            {
                var environment = await before.CreateEnvironmentAsync();
                environmentId = environment.Id;
                for (var i = 0; i < words.Length; i++)
                    ids[i] = await before.IngestAsync(environment, SampleMail.Plain($"Delivery {i}", $"Tracking {words[i]} for the rebuilt index"));
                await before.Get<IngestWriter>().WaitUntilSearchableAsync(Cancel);
            }

            var index = SearchIndexFiles.IndexPath(dataDirectory);
            Assert.True(File.Exists(index));
            if (loss == "from another database")
            {
                await using var connection = await SearchIndexFiles.OpenAsync(dataDirectory);
                await SearchIndexFiles.ExecuteAsync(connection, """
                    INSERT INTO "search"."MessageSearchIndex"("MessageSearchIndex") VALUES ('delete-all');
                    UPDATE "search"."SearchIndexProgress" SET "IndexedThroughId" = 1000000;
                    """);
            }
            else if (loss == "of an older form")
            {
                // Every message indexed, the mark at the last: only the words' form tells this index apart.
                await using var connection = await SearchIndexFiles.OpenAsync(dataDirectory);
                await SearchIndexFiles.ExecuteAsync(connection, """INSERT INTO "search"."MessageSearchIndex"("MessageSearchIndex") VALUES ('delete-all'); PRAGMA "search".user_version = 0;""");
                await using var entries = connection.CreateCommand();
                entries.CommandText = """SELECT "Id", "Text" FROM "MessageSearchEntries" """;
                var olderWords = new List<(long Id, string Words)>();
                await using (var reader = await entries.ExecuteReaderAsync(Cancel))
                    while (await reader.ReadAsync(Cancel))
                        olderWords.Add((reader.GetInt64(0), string.Join(' ', SearchTrigrams.IndexText(reader.GetString(1)).Split(' ').Select(word => word[..^2]))));
                foreach (var (id, older) in olderWords)
                {
                    await using var insert = connection.CreateCommand();
                    insert.CommandText = """INSERT INTO "search"."MessageSearchIndex" (rowid, "Trigrams") VALUES ($id, $words)""";
                    insert.Parameters.AddWithValue("$id", id);
                    insert.Parameters.AddWithValue("$words", older);
                    await insert.ExecuteNonQueryAsync(Cancel);
                }
                Assert.Equal(words.Length, await SearchIndexFiles.ExecuteAsync(connection, """SELECT count(*) FROM "search"."MessageSearchIndex" """));
                Assert.Equal(0, await SearchIndexFiles.ExecuteAsync(connection, """SELECT count(*) FROM "MessageSearchEntries" WHERE "Id" > (SELECT "IndexedThroughId" FROM "search"."SearchIndexProgress")"""));
            }
            else if (loss == "made before it could give pages back")
            {
                await using var connection = await SearchIndexFiles.OpenAsync(dataDirectory);
                await SearchIndexFiles.ExecuteAsync(connection, """PRAGMA "search".auto_vacuum = NONE; VACUUM "search"; PRAGMA "search".user_version = 2;""");
                Assert.Equal(0, await SearchIndexFiles.ExecuteAsync(connection, """PRAGMA "search".auto_vacuum"""));
            }
            else
            {
                foreach (var file in new[] { index, index + "-wal", index + "-shm" }) File.Delete(file);
                if (loss == "unreadable") await File.WriteAllTextAsync(index, new string('x', 8192), Cancel);
            }

            await using var after = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: dataDirectory);
            await after.Get<IngestWriter>().WaitUntilSearchableAsync(Cancel);
            var store = after.Get<IMessageStore>();
            for (var i = 0; i < words.Length; i++)
                Assert.Equal([ids[i]], (await store.ListAsync(new MessageListQuery([environmentId], words[i]), Cancel)).Items.Select(m => m.Id));
            Assert.Equal(ids.Order(), (await store.ListAsync(new MessageListQuery([environmentId], "\"for the rebuilt index\""), Cancel)).Items.Select(m => m.Id).Order());
            await using var check = await SearchIndexFiles.OpenAsync(dataDirectory);
            await SearchIndexFiles.ExecuteAsync(check, SearchIndexFiles.IntegrityCheck);
            Assert.Equal(3, (await SearchIndexFiles.NamedAsync(check, "rebuilt index")).Count);
            Assert.Equal(2, await SearchIndexFiles.ExecuteAsync(check, """PRAGMA "search".auto_vacuum""")); // incremental: a purge can give its pages back
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Deleted_mail_leaves_the_index_and_a_deletion_applied_twice_after_a_crash_does_no_harm()
    {
        await using var core = await CoreServices.StartAsync(DatabaseProvider.Sqlite);
        var writer = core.Get<IngestWriter>();
        var store = core.Get<IMessageStore>();
        var environment = await core.CreateEnvironmentAsync();
        var word = $"quokka{Guid.NewGuid():N}"[..16];
        var kept = await core.IngestAsync(environment, SampleMail.Plain("Kept", $"{word} stays"));
        var gone = await core.IngestAsync(environment, SampleMail.Plain("Gone", $"{word} goes"));
        await writer.WaitUntilSearchableAsync(Cancel);
        await using var index = await SearchIndexFiles.OpenAsync(core.DataDirectory);
        Assert.Equal(2, (await SearchIndexFiles.NamedAsync(index, word)).Count);
        var goneEntry = await SearchIndexFiles.ExecuteAsync(index, $"""SELECT "Id" FROM "MessageSearchEntries" WHERE "MessageId" = '{gone.ToString().ToUpperInvariant()}'""");

        Assert.True(await store.DeleteAsync(gone, [environment.Id], Cancel));
        // Search never shows it, before the index loop has run as after: the stored text decides.
        Assert.Equal([kept], (await store.ListAsync(new MessageListQuery([environment.Id], word), Cancel)).Items.Select(m => m.Id));
        await writer.WaitUntilIndexCurrentAsync(Cancel);
        Assert.Equal([kept.ToString().ToUpperInvariant()], await SearchIndexFiles.NamedAsync(index, word));
        Assert.Equal(0, await SearchIndexFiles.ExecuteAsync(index, """SELECT count(*) FROM "SearchIndexDeletions" """));

        // A crash after the index transaction but before the log is cleared: the deletion is applied again.
        await SearchIndexFiles.ExecuteAsync(index, $"""INSERT INTO "SearchIndexDeletions" ("EntryId") VALUES ({goneEntry})""");
        await writer.WaitUntilIndexCurrentAsync(Cancel);
        Assert.Equal(0, await SearchIndexFiles.ExecuteAsync(index, """SELECT count(*) FROM "SearchIndexDeletions" """));
        await SearchIndexFiles.ExecuteAsync(index, SearchIndexFiles.IntegrityCheck);
        Assert.Equal([kept.ToString().ToUpperInvariant()], await SearchIndexFiles.NamedAsync(index, word));
        Assert.Equal([kept], (await store.ListAsync(new MessageListQuery([environment.Id], word), Cancel)).Items.Select(m => m.Id));
    }
}
