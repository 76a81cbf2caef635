using Mailtest.Core.Data;
using Mailtest.Tests.Infrastructure;
using Mailtest.Tests.Messages;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mailtest.Tests.Data;

/// <summary>
/// SQLite connections as every read opens them. Under load the ingest writer holds the database's
/// write lock nearly all the time; a read must not queue behind it (WAL: readers never wait).
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class SqliteConnectionTests(SqliteCore fixture) : IClassFixture<SqliteCore>
{
    [Fact]
    public async Task A_read_goes_through_while_another_connection_holds_the_write_lock()
    {
        var core = fixture.Core;
        var environment = await core.CreateEnvironmentAsync();
        await core.IngestAsync(environment, SampleMail.Plain("Already stored"));

        await using var writer = new SqliteConnection(core.Get<IOptions<DataOptions>>().Value.EffectiveConnectionString);
        await writer.OpenAsync();
        await using var writing = await writer.BeginTransactionAsync(); // BEGIN IMMEDIATE: the write lock, held
        try
        {
            await using var db = await core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
            Assert.Equal(1, await db.Messages.CountAsync(m => m.EnvironmentId == environment.Id));
            await db.Database.OpenConnectionAsync();
            await using var autoVacuum = db.Database.GetDbConnection().CreateCommand();
            autoVacuum.CommandText = "PRAGMA auto_vacuum";
            Assert.Equal(2L, await autoVacuum.ExecuteScalarAsync()); // still incremental: purges give space back
        }
        finally
        {
            await writing.RollbackAsync();
        }
    }

    [Fact]
    public async Task App_writes_and_ingest_commits_never_wait_for_the_search_index_files_writer()
    {
        var core = fixture.Core;
        var environment = await core.CreateEnvironmentAsync();
        await using var indexWriter = new SqliteConnection($"Data Source={SearchIndexFiles.IndexPath(core.DataDirectory)};Pooling=False");
        await indexWriter.OpenAsync();
        await using var indexing = await indexWriter.BeginTransactionAsync(); // BEGIN IMMEDIATE on the index file, as an index step holds it
        try
        {
            // Were the index file attached for writing, each of these would wait for that lock (then fail after the busy timeout).
            var stored = await core.IngestAsync(environment, SampleMail.Plain("Stored while the index is being written"));
            await using var db = await core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
            await using (var appWrite = await db.Database.BeginTransactionAsync())
            {
                Assert.Equal(1, await db.Messages.Where(m => m.Id == stored).ExecuteUpdateAsync(s => s.SetProperty(m => m.IsRead, true)));
                await appWrite.CommitAsync();
            }
            Assert.True(await db.Messages.Where(m => m.Id == stored).Select(m => m.IsRead).SingleAsync());
        }
        finally
        {
            await indexing.RollbackAsync();
        }
    }
}
