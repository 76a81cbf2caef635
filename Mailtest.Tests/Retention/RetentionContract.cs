using Mailtest.Core.Audit;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Data;
using Mailtest.Tests.Infrastructure;
using Mailtest.Tests.Messages;
using Mailtest.Tests.Smtp.Fakes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Retention;

/// <summary>
/// Core on a clock the tests move, with small plans: Starter keeps 30 days and 40 messages, Pro 90 days
/// and 80 messages, Agency 365 days and 60,000 bytes.
/// </summary>
public sealed class RetentionCore(PostgresServer? postgres, DatabaseProvider provider) : IAsyncLifetime
{
    public const int StarterCap = 40, ProCap = 80;
    public const long AgencyStorageCap = 60_000;

    public ManualTimeProvider Clock { get; } = new();
    public CoreServices Core { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Core = await CoreServices.StartAsync(provider, postgres,
        settings: new Dictionary<string, string?>
        {
            ["Mailtest:Plans:Starter:MessageCap"] = StarterCap.ToString(),
            ["Mailtest:Plans:Pro:MessageCap"] = ProCap.ToString(),
            ["Mailtest:Plans:Agency:StorageCapBytes"] = AgencyStorageCap.ToString(),
            ["Mailtest:Retention:BatchSize"] = "7", // several batches even for a few dozen messages
        },
        configure: services => services.AddSingleton<TimeProvider>(Clock));

    public ValueTask DisposeAsync() => Core.DisposeAsync();
}

public sealed class SqliteRetentionCore() : IAsyncLifetime
{
    private readonly RetentionCore _inner = new(null, DatabaseProvider.Sqlite);
    public RetentionCore World => _inner;
    public ValueTask InitializeAsync() => _inner.InitializeAsync();
    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}

public sealed class PostgresRetentionCore(PostgresServer postgres) : IAsyncLifetime
{
    private readonly RetentionCore _inner = new(postgres, DatabaseProvider.Postgres);
    public RetentionCore World => _inner;
    public ValueTask InitializeAsync() => _inner.InitializeAsync();
    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}

/// <summary>What the retention purge, the caps, the grace and clearing by hand promise, on each provider.</summary>
public abstract class RetentionContract(RetentionCore world)
{
    private readonly CoreServices _core = world.Core;
    private ManualTimeProvider Clock => world.Clock;
    private RetentionPurge Purge => _core.Get<RetentionPurge>();
    private IMessageStore Store => _core.Get<IMessageStore>();
    private static readonly Caller PlatformAdmin = new(Guid.NewGuid(), "root@mailtest.example", IsPlatformAdmin: true);

    [Fact]
    public async Task Retention_deletes_what_is_older_than_the_plans_window_and_keeps_the_rest()
    {
        var starter = await _core.CreateEnvironmentAsync(Plan.Starter);
        var pro = await _core.CreateEnvironmentAsync(Plan.Pro);
        var oldStarter = await _core.IngestAsync(starter, SampleMail.Plain("Thirty-one days old"));
        var oldPro = await _core.IngestAsync(pro, SampleMail.Plain("Thirty-one days old"));
        Clock.Advance(TimeSpan.FromDays(20));
        var recentStarter = await _core.IngestAsync(starter, SampleMail.Plain("Eleven days old"));
        Clock.Advance(TimeSpan.FromDays(11));

        var report = await Purge.RunAsync(null, RetentionPurge.SystemActor);

        Assert.Null(await Store.GetAsync(oldStarter, [starter.Id]));
        Assert.NotNull(await Store.GetAsync(recentStarter, [starter.Id]));
        Assert.NotNull(await Store.GetAsync(oldPro, [pro.Id])); // Pro keeps 90 days
        var purged = Assert.Single(report.Organizations, o => o.OrganizationId == starter.Project!.OrganizationId);
        Assert.Equal((1L, 0L), (purged.ByRetention, purged.ByCaps));
        Assert.DoesNotContain(report.Organizations, o => o.OrganizationId == pro.Project!.OrganizationId);
    }

    [Fact]
    public async Task Retention_removes_the_raw_content_attachments_and_search_entry_too()
    {
        var environment = await _core.CreateEnvironmentAsync(Plan.Starter);
        var word = $"zebra{Guid.NewGuid():N}"[..16];
        var id = await _core.IngestAsync(environment, SampleMail.WithAttachments($"Invoice {word}"));
        await _core.Get<IngestWriter>().WaitUntilSearchableAsync(TestContext.Current.CancellationToken); // search follows the commit by a moment
        Assert.Single((await Store.ListAsync(new MessageListQuery([environment.Id], word))).Items);
        Clock.Advance(TimeSpan.FromDays(31));

        await Purge.RunAsync(environment.Project!.OrganizationId, RetentionPurge.SystemActor);

        await using var db = Db();
        Assert.False(await db.MessageContents.AnyAsync(c => c.MessageId == id));
        Assert.False(await db.MessageAttachments.AnyAsync(a => a.MessageId == id));
        Assert.False(await db.MessageSearchEntries.AnyAsync(e => e.MessageId == id));
        if (db.IsSqlite) // the FTS5 index itself (its own file) no longer names the purged message's entry, once the index loop has run
        {
            await _core.Get<IngestWriter>().WaitUntilIndexCurrentAsync(TestContext.Current.CancellationToken);
            Assert.Equal(0, await db.Database.SqlQuery<int>(
                $"""SELECT count(*) AS "Value" FROM "search"."MessageSearchIndex" AS i WHERE i."MessageSearchIndex" MATCH {SearchTrigrams.MatchQuery(word)}""").SingleAsync());
        }
        Assert.Empty((await Store.ListAsync(new MessageListQuery([environment.Id], word))).Items);
    }

    [Fact]
    public async Task Messages_of_a_disabled_environment_follow_the_same_clock()
    {
        var environment = await _core.CreateEnvironmentAsync(Plan.Starter);
        var old = await _core.IngestAsync(environment, SampleMail.Plain("Captured before disabling"));
        await using (var db = Db())
            await db.Environments.Where(e => e.Id == environment.Id).ExecuteUpdateAsync(s => s
                .SetProperty(e => e.MailtestState, MailtestState.Disabled).SetProperty(e => e.MailtestDisabledUtc, Clock.GetUtcNow().UtcDateTime));
        Clock.Advance(TimeSpan.FromDays(29));
        await Purge.RunAsync(environment.Project!.OrganizationId, RetentionPurge.SystemActor);
        Assert.NotNull(await Store.GetAsync(old, [environment.Id]));

        Clock.Advance(TimeSpan.FromDays(2));
        await Purge.RunAsync(environment.Project!.OrganizationId, RetentionPurge.SystemActor);
        Assert.Null(await Store.GetAsync(old, [environment.Id]));
    }

    [Fact]
    public async Task The_message_cap_removes_the_oldest_across_environments_down_to_the_headroom_with_one_audit_entry()
    {
        var first = await _core.CreateEnvironmentAsync(Plan.Starter);
        var second = await CreateSiblingEnvironmentAsync(first, "dev");
        var ids = new List<Guid>();
        for (var i = 0; i < RetentionCore.StarterCap; i++)
        {
            ids.Add(await _core.IngestAsync(i % 2 == 0 ? first : second, SampleMail.Plain($"Message {i}")));
            Clock.Advance(TimeSpan.FromMinutes(1));
        }
        var organizationId = first.Project!.OrganizationId;

        var report = await Purge.RunAsync(organizationId, RetentionPurge.SystemActor);

        // 95 % of 40 is 38: the two oldest go, one from each environment.
        var purged = Assert.Single(report.Organizations);
        Assert.Equal((0L, 2L), (purged.ByRetention, purged.ByCaps));
        Assert.Equal(38, purged.Usage.MessageCount);
        Assert.Null(await Store.GetAsync(ids[0], [first.Id]));
        Assert.Null(await Store.GetAsync(ids[1], [second.Id]));
        Assert.NotNull(await Store.GetAsync(ids[2], [first.Id]));
        Assert.Equal(38, (await _core.Get<OrganizationUsage>().GetAsync(organizationId)).MessageCount);
        var audit = await AuditOfAsync(organizationId, AuditActions.RetentionPurge);
        Assert.Contains("2 messages deleted", Assert.Single(audit).Detail);

        // Under the cap now: a second run removes nothing and writes nothing.
        Assert.Empty((await Purge.RunAsync(organizationId, RetentionPurge.SystemActor)).Organizations);
        Assert.Single(await AuditOfAsync(organizationId, AuditActions.RetentionPurge));
    }

    [Fact]
    public async Task The_storage_cap_removes_the_oldest_until_the_bytes_are_under_the_headroom()
    {
        var environment = await _core.CreateEnvironmentAsync(Plan.Agency);
        var ids = new List<Guid>();
        for (var i = 0; i < 31; i++) // about 2,000 bytes each: 62,000 bytes, over the 60,000 cap
        {
            ids.Add(await _core.IngestAsync(environment, SampleMail.Plain($"Report {i}", new string('r', 1_750))));
            Clock.Advance(TimeSpan.FromMinutes(1));
        }
        var organizationId = environment.Project!.OrganizationId;
        var before = await _core.Get<OrganizationUsage>().GetAsync(organizationId);
        Assert.True(before.Bytes >= RetentionCore.AgencyStorageCap, $"{before.Bytes} bytes");

        var purged = Assert.Single((await Purge.RunAsync(organizationId, RetentionPurge.SystemActor)).Organizations);

        Assert.InRange(purged.Usage.Bytes, RetentionCore.AgencyStorageCap * 95 / 100 - 2_100, RetentionCore.AgencyStorageCap * 95 / 100);
        var kept = await PagesAsync(environment.Id);
        Assert.Equal(ids.TakeLast(kept.Count).Reverse(), kept); // oldest first: what is left is the newest
        Assert.Equal(before.MessageCount - purged.ByCaps, kept.Count);
    }

    [Fact]
    public async Task A_purge_triggered_at_the_cap_ends_the_452_within_seconds()
    {
        var environment = await _core.CreateEnvironmentAsync(Plan.Starter);
        var credential = await _core.Services.EnableMailtestAsync(environment.Id);
        for (var i = 0; i < RetentionCore.StarterCap; i++)
            await _core.IngestAsync(environment, SampleMail.Plain($"Message {i}"));
        var mailbox = new Mailtest.Smtp.SmtpMailbox(credential.Username, environment.Project!.OrganizationId, environment.Id);

        Assert.Equal(452, (await MailFromAsync(mailbox))?.Code);

        // No clock moves: only the purge the 452 started can end it.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (await MailFromAsync(mailbox) is not null)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "Still 452 after 30 seconds.");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
        await _core.Get<CapPurgeTrigger>().IdleAsync();
        Assert.Equal(38, await Store.CountAsync(environment.Id));
    }

    [Fact]
    public async Task A_message_refused_for_storage_gets_room_for_its_declared_size_not_just_the_headroom()
    {
        var environment = await _core.CreateEnvironmentAsync(Plan.Agency);
        var credential = await _core.Services.EnableMailtestAsync(environment.Id);
        for (var i = 0; i < 28; i++) // about 56,000 of 60,000 bytes: under the cap and under 95 % of it
            await _core.IngestAsync(environment, SampleMail.Plain($"Report {i}", new string('r', 1_750)));
        var mailbox = new Mailtest.Smtp.SmtpMailbox(credential.Username, environment.Project!.OrganizationId, environment.Id);
        const long Declared = 8_000;

        Assert.Equal(452, (await MailFromAsync(mailbox, Declared))?.Code);

        await _core.Get<CapPurgeTrigger>().IdleAsync();
        Assert.Null(await MailFromAsync(mailbox, Declared));
        Assert.InRange((await _core.Get<OrganizationUsage>().GetAsync(environment.Project.OrganizationId)).Bytes, 45_000, RetentionCore.AgencyStorageCap - Declared);
    }

    [Fact]
    public async Task Two_purges_at_once_delete_each_message_once_and_a_second_run_finds_nothing()
    {
        var environment = await _core.CreateEnvironmentAsync(Plan.Starter);
        for (var i = 0; i < 30; i++)
            await _core.IngestAsync(environment, SampleMail.Plain($"Old {i}"));
        Clock.Advance(TimeSpan.FromDays(40));
        for (var i = 0; i < 45; i++) // over the cap as well
            await _core.IngestAsync(environment, SampleMail.Plain($"New {i}"));
        var organizationId = environment.Project!.OrganizationId;

        var runs = await Task.WhenAll(
            Purge.RunAsync(organizationId, RetentionPurge.SystemActor),
            Purge.RunAsync(organizationId, RetentionPurge.SystemActor),
            Task.Run(() => _core.Get<RetentionPurge>().PurgeAtCapAsync(organizationId)).ContinueWith(t => new PurgeReport(default, default, t.Result is { Messages: > 0 } r ? [r] : [])));

        Assert.Equal(30 + 7, runs.Sum(r => r.Messages)); // 30 by retention, 45 → 38 by the cap
        Assert.Equal(38, await Store.CountAsync(environment.Id));
        Assert.Empty((await Purge.RunAsync(organizationId, RetentionPurge.SystemActor)).Organizations);
    }

    [Fact]
    public async Task A_downgrade_starts_a_grace_the_old_limits_apply_until_it_ends_then_the_new_ones()
    {
        var environment = await _core.CreateEnvironmentAsync(Plan.Pro);
        var organizationId = environment.Project!.OrganizationId;
        var fortyDaysOld = await _core.IngestAsync(environment, SampleMail.Plain("Forty days old"));
        Clock.Advance(TimeSpan.FromDays(40));
        var fresh = await _core.IngestAsync(environment, SampleMail.Plain("Fresh"));
        var changedAt = Clock.GetUtcNow().UtcDateTime;

        var limits = await _core.Get<PlanChanges>().ChangeAsync(PlatformAdmin, organizationId, Plan.Starter);

        Assert.Equal((Plan.Starter, Plan.Pro, changedAt.AddDays(14)), (limits.Plan, limits.GracePlan!.Value, limits.GraceEndsUtc!.Value));
        Assert.Equal(90, limits.Applied.RetentionDays);
        Assert.Contains("Pro → Starter", Assert.Single(await AuditOfAsync(organizationId, AuditActions.PlanChange)).Detail);
        var usage = await _core.Get<PlanUsage>().GetAsync(PlatformAdmin, organizationId);
        Assert.Equal((Plan.Starter, Plan.Pro, changedAt.AddDays(14), 2L), (usage.Plan, usage.GracePlan!.Value, usage.DeletionStartsUtc!.Value, usage.Messages));

        Clock.Advance(TimeSpan.FromDays(14) - TimeSpan.FromMinutes(1));
        await Purge.RunAsync(organizationId, RetentionPurge.SystemActor);
        Assert.NotNull(await Store.GetAsync(fortyDaysOld, [environment.Id])); // 54 days old, the grace still keeps 90

        Clock.Advance(TimeSpan.FromMinutes(2));
        await Purge.RunAsync(organizationId, RetentionPurge.SystemActor);
        Assert.Null(await Store.GetAsync(fortyDaysOld, [environment.Id]));
        Assert.NotNull(await Store.GetAsync(fresh, [environment.Id])); // 14 days old: within Starter's 30
        Assert.False((await _core.Get<PlanUsage>().GetAsync(PlatformAdmin, organizationId)).InGrace);
    }

    [Fact]
    public async Task An_upgrade_ends_the_grace_at_once_and_only_platform_administrators_change_plans()
    {
        var environment = await _core.CreateEnvironmentAsync(Plan.Pro);
        var organizationId = environment.Project!.OrganizationId;
        var changes = _core.Get<PlanChanges>();
        Assert.True((await changes.ChangeAsync(PlatformAdmin, organizationId, Plan.Starter)).InGrace);

        var upgraded = await changes.ChangeAsync(PlatformAdmin, organizationId, Plan.Pro);

        Assert.False(upgraded.InGrace);
        Assert.Equal((90, RetentionCore.ProCap), (upgraded.Applied.RetentionDays, upgraded.Applied.MessageCap));
        var member = new Caller(Guid.NewGuid(), "dev@example.com", IsPlatformAdmin: false);
        await Assert.ThrowsAsync<AccessDeniedException>(() => changes.ChangeAsync(member, organizationId, Plan.Starter));
        await Assert.ThrowsAsync<NotFoundException>(() => _core.Get<PlanUsage>().GetAsync(member, organizationId));
    }

    [Fact]
    public async Task Clearing_by_hand_deletes_all_or_what_a_search_matches_says_how_many_first_and_audits_once()
    {
        var environment = await _core.CreateEnvironmentAsync(Plan.Pro);
        var user = await CreateOwnerAsync(environment.Project!.OrganizationId);
        for (var i = 0; i < 12; i++)
            await _core.IngestAsync(environment, SampleMail.Plain(i % 3 == 0 ? $"Invoice {i}" : $"Welcome {i}"));
        var deletion = _core.Get<MessageDeletion>();
        var events = new List<MessageEvent>();
        using var subscription = _core.Get<MessageEvents>().Subscribe([environment.Id], (e, _) => { lock (events) events.Add(e); return Task.CompletedTask; });

        Assert.Equal(4, await deletion.CountAsync(user, environment.Id, "subject:invoice"));
        var deleted = await deletion.DeleteAsync(user, environment.Id, "subject:invoice");

        Assert.Equal(4, deleted.Messages);
        Assert.Equal(8, await Store.CountAsync(environment.Id));
        Assert.Equal(0, await deletion.CountAsync(user, environment.Id, "subject:invoice"));
        Assert.Equal(8, await deletion.CountAsync(user, environment.Id, null));
        Assert.Equal(8, (await deletion.DeleteAsync(user, environment.Id, null)).Messages);
        Assert.Equal(0, await Store.CountAsync(environment.Id));
        var audit = await AuditOfAsync(environment.Project.OrganizationId, AuditActions.MessagesClear);
        Assert.Equal(2, audit.Count);
        Assert.Contains(audit, a => a.Detail!.Contains("matching \"subject:invoice\": 4 deleted"));
        Assert.Equal(0, (await _core.Get<OrganizationUsage>().GetAsync(environment.Project.OrganizationId)).MessageCount);
        await WaitUntilAsync(() => { lock (events) return events.OfType<MessageDeleted>().Count(e => e.EnvironmentId == environment.Id) == 12; });

        var stranger = new Caller(Guid.NewGuid(), "stranger@example.com", IsPlatformAdmin: false);
        await Assert.ThrowsAsync<NotFoundException>(() => deletion.DeleteAsync(stranger, environment.Id, null));
    }

    [Fact]
    public async Task A_purge_gives_the_space_back_to_the_file_system()
    {
        var environment = await _core.CreateEnvironmentAsync(Plan.Pro);
        var random = new Random(7);
        for (var i = 0; i < 40; i++) // incompressible bodies, about 100 kB each
        {
            var noise = new byte[75_000];
            random.NextBytes(noise);
            await _core.IngestAsync(environment, SampleMail.Plain($"Noise {i}", Convert.ToBase64String(noise)));
        }
        var space = _core.Get<DatabaseSpace>();
        // The search index file is counted too: measured once it holds these messages, and again once their deletion has reached it.
        await _core.Get<IngestWriter>().WaitUntilIndexCurrentAsync(TestContext.Current.CancellationToken);
        var before = await space.SizeOnDiskAsync();
        // The index's pages in the index file itself, not still in its write-ahead log (a checkpoint comes every
        // ~4 MB of log, so without this the file could be measured before it had grown).
        if (_core.Provider == DatabaseProvider.Sqlite)
        {
            await using var index = await SearchIndexFiles.OpenAsync(_core.DataDirectory);
            Assert.Equal(0, await SearchIndexFiles.ExecuteAsync(index, """PRAGMA "search".wal_checkpoint(TRUNCATE)""")); // 0: not blocked
        }
        var indexBefore = SearchIndexFileSize();
        Clock.Advance(TimeSpan.FromDays(91));

        var report = await Purge.RunAsync(environment.Project!.OrganizationId, RetentionPurge.SystemActor);

        Assert.Equal(40, report.Messages);
        await _core.Get<IngestWriter>().WaitUntilIndexCurrentAsync(TestContext.Current.CancellationToken);
        var after = await space.SizeOnDiskAsync();
        if (_core.Provider != DatabaseProvider.Sqlite) return;
        Assert.True(after < before - 3_000_000, $"{before} bytes before, {after} after");
        // The search index file (mailtest.search.db) gives its room back too, not only mailtest.db.
        var indexAfter = SearchIndexFileSize();
        Assert.True(indexAfter < indexBefore / 4, $"the search index file: {indexBefore} bytes before, {indexAfter} after");
    }

    private long SearchIndexFileSize() => _core.Provider == DatabaseProvider.Sqlite ? new FileInfo(SearchIndexFiles.IndexPath(_core.DataDirectory)).Length : 0;

    private async Task<Mailtest.Smtp.SmtpReply?> MailFromAsync(Mailtest.Smtp.SmtpMailbox mailbox, long? declaredSize = null)
    {
        await using var scope = _core.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<Mailtest.Smtp.ISmtpBackend>().CheckSenderAsync(mailbox, declaredSize, default);
    }

    private async Task<ProjectEnvironment> CreateSiblingEnvironmentAsync(ProjectEnvironment sibling, string name)
    {
        var environment = await _core.Get<TenancyAdministration>().CreateEnvironmentAsync(sibling.ProjectId, name, EnvironmentKind.Development);
        environment.Project = sibling.Project;
        return environment;
    }

    private async Task<Caller> CreateOwnerAsync(Guid organizationId)
    {
        var email = $"owner-{Guid.NewGuid():N}@example.com";
        var user = await _core.Get<TenancyAdministration>().CreateUserAsync(email, "correct horse battery", isPlatformAdmin: false);
        await _core.Get<TenancyAdministration>().AddMemberAsync(organizationId, email, OrganizationRole.Owner);
        return new Caller(user.Id, email, IsPlatformAdmin: false);
    }

    private async Task<List<AuditEntry>> AuditOfAsync(Guid organizationId, string action)
    {
        await using var db = Db();
        return await db.AuditEntries.AsNoTracking().Where(a => a.OrganizationId == organizationId && a.Action == action).ToListAsync();
    }

    private async Task<List<Guid>> PagesAsync(Guid environmentId)
    {
        var ids = new List<Guid>();
        MessageCursor? after = null;
        do
        {
            var page = await Store.ListAsync(new MessageListQuery([environmentId], null, after, PageSize: 200));
            ids.AddRange(page.Items.Select(m => m.Id));
            after = page.Next;
        } while (after is not null);
        return ids;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "The condition did not hold within 10 seconds.");
            await Task.Delay(10);
        }
    }

    private MailtestDbContext Db() => _core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContext();
}

[TestCategory(Needs.Unit)]
public sealed class SqliteRetentionTests(SqliteRetentionCore fixture) : RetentionContract(fixture.World), IClassFixture<SqliteRetentionCore>;

[TestCategory(Needs.Postgres)]
public sealed class PostgresRetentionTests(PostgresRetentionCore fixture) : RetentionContract(fixture.World), IClassFixture<PostgresRetentionCore>;
