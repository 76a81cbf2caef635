using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Retention;
using Mailtest.Tests.Data;
using Mailtest.Tests.Infrastructure;
using Mailtest.Tests.Messages;

namespace Mailtest.Tests.Retention;

/// <summary>The database's size on disk, as someone looking at the data folder counts it.</summary>
[TestCategory(Needs.Unit)]
public sealed class DatabaseSpaceTests(SqliteCore fixture) : IClassFixture<SqliteCore>
{
    [Fact]
    public async Task The_SQLite_size_on_disk_is_every_file_of_the_database_the_search_index_and_their_logs_included()
    {
        var core = fixture.Core;
        var environment = await core.CreateEnvironmentAsync();
        for (var i = 0; i < 20; i++)
            await core.IngestAsync(environment, SampleMail.Plain($"Invoice {i}", $"Order {i}: " + string.Join(' ', Enumerable.Range(0, 400).Select(w => $"word{i}x{w}"))));
        await core.Get<IngestWriter>().WaitUntilIndexCurrentAsync(TestContext.Current.CancellationToken);

        var size = await core.Get<DatabaseSpace>().SizeOnDiskAsync(TestContext.Current.CancellationToken);

        // What `du` counts: mailtest.db, mailtest.search.db, each with its -wal and -shm (the keys beside them are not the database).
        var files = Directory.GetFiles(core.DataDirectory, "mailtest.*");
        Assert.Contains(files, f => f.EndsWith("mailtest.search.db", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("mailtest.db-wal", StringComparison.Ordinal));
        Assert.Equal(files.Sum(f => new FileInfo(f).Length), size);
    }

    [Fact]
    public async Task After_a_burst_and_a_checkpoint_each_write_ahead_log_is_back_within_its_limit()
    {
        var core = fixture.Core;
        var environment = await core.CreateEnvironmentAsync();
        var ingest = core.Get<IngestWriter>();
        var cancellation = TestContext.Current.CancellationToken;
        var mainLog = SearchIndexFiles.MainPath(core.DataDirectory) + "-wal";
        var indexLog = SearchIndexFiles.IndexPath(core.DataDirectory) + "-wal";
        const long limit = SqlitePragmas.WriteAheadLogLimitBytes;
        var random = new Random(11);

        // A burst while a reader holds a snapshot of both files (a long export, say): no checkpoint can empty
        // either log meanwhile, so each grows past the limit.
        await using (var reader = await SearchIndexFiles.OpenAsync(core.DataDirectory))
        {
            await using var snapshot = reader.BeginTransaction(deferred: true);
            await SearchIndexFiles.ExecuteAsync(reader, """SELECT (SELECT count(*) FROM "Messages") + (SELECT "IndexedThroughId" FROM "search"."SearchIndexProgress")""");
            for (var round = 0; round < 40 && (Length(mainLog) <= limit || Length(indexLog) <= limit); round++)
            {
                for (var i = 0; i < 10; i++) // incompressible bodies of ~100 kB, each ~100 kB of index words too
                {
                    var noise = new byte[75_000];
                    random.NextBytes(noise);
                    await core.IngestAsync(environment, SampleMail.Plain($"Burst {round}.{i}", Convert.ToBase64String(noise)));
                }
                await ingest.WaitUntilIndexCurrentAsync(cancellation);
            }
            Assert.True(Length(mainLog) > limit, $"mailtest.db-wal grew to {Length(mainLog)} bytes only");
            Assert.True(Length(indexLog) > limit, $"mailtest.search.db-wal grew to {Length(indexLog)} bytes only");
        }

        // The snapshot is gone: a purge's checkpoints empty both logs, and the next mail's commits start them over.
        await core.Get<DatabaseSpace>().ReclaimAsync(cancellation);
        await core.IngestAsync(environment, SampleMail.Plain("After the burst"));
        await ingest.WaitUntilIndexCurrentAsync(cancellation);

        Assert.True(Length(mainLog) <= limit, $"mailtest.db-wal kept {Length(mainLog)} bytes");
        Assert.True(Length(indexLog) <= limit, $"mailtest.search.db-wal kept {Length(indexLog)} bytes");
    }

    private static long Length(string file) => new FileInfo(file).Length;
}
