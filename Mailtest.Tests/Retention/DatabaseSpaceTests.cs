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
}
