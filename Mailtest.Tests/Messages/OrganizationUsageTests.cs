using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Tests.Data;
using Mailtest.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Mailtest.Tests.Messages;

/// <summary>
/// The quota check's figures (MAIL FROM): a count reads every message of an organization (~0.3 s at a million),
/// so sessions checking at once share one count, and a periodic recount never holds a session up.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class OrganizationUsageTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Checks_at_once_share_one_count_and_a_recount_runs_behind_the_kept_figures()
    {
        await using var core = await CoreServices.StartAsync(DatabaseProvider.Sqlite);
        var environment = await core.CreateEnvironmentAsync();
        await core.IngestAsync(environment, SampleMail.Plain("Counted"));
        var organizationId = environment.Project!.OrganizationId;
        var database = new GatedFactory(core.Get<IDbContextFactory<MailtestDbContext>>());
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var usage = new OrganizationUsage(database, clock, NullLogger<OrganizationUsage>.Instance);

        // Eight sessions check before any count: they wait for one count.
        database.Close();
        var checks = Enumerable.Range(0, 8).Select(_ => usage.GetAsync(organizationId, Cancel).AsTask()).ToList();
        Assert.All(checks, check => Assert.False(check.IsCompleted));
        database.Open();
        var figures = await Task.WhenAll(checks);
        Assert.All(figures, f => Assert.Equal(1, f.MessageCount));
        Assert.Equal(1, database.Counts);

        // A minute on, with the database held up: the check answers at once with the figures kept current,
        // and the one recount it started finishes behind it.
        usage.Added(organizationId, 100);
        clock.Advance(TimeSpan.FromMinutes(2));
        database.Close();
        var stale = usage.GetAsync(organizationId, Cancel);
        Assert.True(stale.IsCompleted);
        Assert.Equal(2, (await stale).MessageCount);
        Assert.True(usage.GetAsync(organizationId, Cancel).IsCompleted);
        database.Open();
        await WaitUntilAsync(() => Task.FromResult(database.Counts == 2));
        await WaitUntilAsync(async () => (await usage.GetAsync(organizationId, Cancel)).MessageCount == 1); // the database's own figure again
        Assert.Equal(2, database.Counts);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!await condition()) await Task.Delay(10, timeout.Token);
    }

    /// <summary>The application's database, whose contexts can be held up (a slow count) and are counted.</summary>
    private sealed class GatedFactory(IDbContextFactory<MailtestDbContext> inner) : IDbContextFactory<MailtestDbContext>
    {
        private volatile TaskCompletionSource _open = Opened();
        private int _counts;

        public int Counts => Volatile.Read(ref _counts);

        public void Close() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();

        public MailtestDbContext CreateDbContext() => throw new NotSupportedException("The usage counts asynchronously.");

        public async Task<MailtestDbContext> CreateDbContextAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _counts);
            await _open.Task.WaitAsync(cancellationToken);
            return await inner.CreateDbContextAsync(cancellationToken);
        }

        private static TaskCompletionSource Opened()
        {
            var open = new TaskCompletionSource();
            open.SetResult();
            return open;
        }
    }
}
