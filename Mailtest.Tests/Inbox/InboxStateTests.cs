using Mailtest.Tests.Infrastructure;
using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Preview;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Data;
using Mailtest.Tests.Messages;
using Mailtest.Web.Accounts;
using Mailtest.Web.Inbox;
using Microsoft.Extensions.Time.Testing;

namespace Mailtest.Tests.Inbox;

/// <summary>
/// The inbox's state without a browser: the real store on SQLite, the real AccessRules and the live
/// bus, driven the way InboxPage drives it, with time under the test's control.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class InboxStateTests(SqliteCore fixture) : IClassFixture<SqliteCore>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly CoreServices _core = fixture.Core;
    private readonly FakeTimeProvider _time = new();

    /// <summary>An owner of a new organization with a staging and a dev environment.</summary>
    private async Task<(Caller Owner, ProjectEnvironment Staging, ProjectEnvironment Dev)> WorldAsync()
    {
        var staging = await _core.CreateEnvironmentAsync();
        var tenancy = _core.Get<TenancyAdministration>();
        var dev = await tenancy.CreateEnvironmentAsync(staging.ProjectId, "dev", EnvironmentKind.Development);
        dev.Project = staging.Project;
        var user = await tenancy.CreateUserAsync($"owner-{Guid.NewGuid():N}@example.test", "a long password 1", isPlatformAdmin: false);
        await tenancy.AddMemberAsync(staging.Project!.OrganizationId, user.Email, OrganizationRole.Owner);
        return (new Caller(user.Id, user.Email, false, null), staging, dev);
    }

    /// <summary>One open inbox (one browser tab): its own reader and state, live, each change applied one at a time.</summary>
    private sealed class Tab(InboxState state) : IDisposable
    {
        private readonly SemaphoreSlim _oneAtATime = new(1, 1);
        public InboxState State { get; } = state;

        public async Task RunAsync(Func<InboxState, Task> action)
        {
            await _oneAtATime.WaitAsync();
            try { await action(State); }
            finally { _oneAtATime.Release(); }
        }

        public async Task ApplyLiveAsync(Func<Task> work)
        {
            await _oneAtATime.WaitAsync();
            try { await work(); }
            finally { _oneAtATime.Release(); }
        }

        public void Dispose() => State.Dispose();
    }

    private async Task<Tab> OpenAsync(Caller caller, bool live = true, IMessageStore? store = null)
    {
        var reader = new InboxReader(new CurrentCaller(new SignedInAs(caller)), _core.Get<AccessRules>(), _core.Get<CurrentAccess>(), store ?? _core.Get<IMessageStore>(), _core.Get<MessagePreviews>(), new PreviewLinkSigner(new byte[32], _time));
        Assert.True(await reader.LoadCallerAsync());
        var state = new InboxState(reader, _core.Get<MessageEvents>(), _time);
        var tab = new Tab(state);
        state.Dispatch = tab.ApplyLiveAsync;
        await state.LoadAsync();
        if (live) state.StartLive();
        return tab;
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (!condition()) await Task.Delay(20, timeout.Token);
    }

    private async Task<List<Guid>> IngestAsync(ProjectEnvironment environment, int count, string subject)
    {
        var ids = new List<Guid>();
        for (var i = 0; i < count; i++) ids.Add(await _core.IngestAsync(environment, SampleMail.Plain($"{subject} {i:000}")));
        return ids;
    }

    [Fact]
    public async Task Reading_a_message_below_the_first_page_keeps_both_tabs_lists_and_selections()
    {
        var (owner, staging, _) = await WorldAsync();
        var ids = await IngestAsync(staging, InboxState.PageSize + 10, "Order");
        // Their "now searchable" event is published before this returns, so it cannot arrive in the tabs
        // below and count as the live change the second tab waits for.
        await _core.Get<IngestWriter>().WaitUntilSearchableAsync();
        using var first = await OpenAsync(owner);
        using var second = await OpenAsync(owner);
        await first.RunAsync(s => s.LoadMoreAsync());
        await second.RunAsync(s => s.LoadMoreAsync());
        var newest = second.State.Items[0].Id;
        var oldest = first.State.Items[^1].Id; // below "Load older messages"
        await second.RunAsync(s => s.SelectAsync(newest));  // the colleague reads the newest
        await UntilAsync(() => first.State.Items[0].IsRead); // and the first tab sees that in place

        await first.RunAsync(s => s.SelectAsync(oldest));
        // Waits for this read to reach the second tab, not for any live change: the second tab's own read of
        // the newest comes back to it as a live change too, and may be applied only now.
        await UntilAsync(() => second.State.Items.SingleOrDefault(i => i.Id == oldest)?.IsRead == true);
        await second.RunAsync(_ => Task.CompletedTask); // and that change is applied to its end

        Assert.Equal(oldest, first.State.Selected?.Summary.Id);
        Assert.True(first.State.Selected!.Summary.IsRead);
        Assert.Equal(ids.Count, first.State.Items.Count);
        Assert.Equal(ids.Count, second.State.Items.Count);
        Assert.True(second.State.Items.Single(i => i.Id == oldest).IsRead);
        Assert.Equal(newest, second.State.SelectedId);
        Assert.NotNull(second.State.Selected);
        Assert.Equal([newest, oldest], second.State.Items.Where(i => i.IsRead).Select(i => i.Id));
    }

    [Fact]
    public async Task Mark_unread_mark_all_read_and_a_deletion_apply_in_place_in_the_other_tab()
    {
        var (owner, staging, dev) = await WorldAsync();
        var stagingIds = await IngestAsync(staging, 3, "Staging");
        var devIds = await IngestAsync(dev, 2, "Dev");
        using var first = await OpenAsync(owner);
        using var second = await OpenAsync(owner);
        await second.RunAsync(s => s.SelectAsync(stagingIds[1]));

        await first.RunAsync(s => s.SelectEnvironmentAsync(dev.Id));
        await first.RunAsync(s => s.MarkAllReadAsync());
        await UntilAsync(() => second.State.Items.Where(i => i.EnvironmentId == dev.Id).All(i => i.IsRead));
        Assert.Equal([stagingIds[1]], second.State.Items.Where(i => i.IsRead && i.EnvironmentId == staging.Id).Select(i => i.Id));

        await second.RunAsync(s => s.SetReadAsync(false));
        Assert.False(second.State.Items.Single(i => i.Id == stagingIds[1]).IsRead);

        await first.RunAsync(s => s.SelectEnvironmentAsync(null));
        await first.RunAsync(s => s.SelectAsync(devIds[0]));
        await first.RunAsync(s => s.DeleteSelectedAsync());
        await UntilAsync(() => second.State.Items.All(i => i.Id != devIds[0]));
        Assert.Equal(stagingIds[1], second.State.SelectedId);
        Assert.Equal(4, second.State.Items.Count);
    }

    [Fact]
    public async Task An_inbox_filtered_to_one_environment_receives_only_that_environments_events()
    {
        var (owner, staging, dev) = await WorldAsync();
        var events = _core.Get<MessageEvents>();
        var before = (Staging: events.SubscriberCount(staging.Id), Dev: events.SubscriberCount(dev.Id));
        using var tab = await OpenAsync(owner);
        Assert.Equal((before.Staging + 1, before.Dev + 1), (events.SubscriberCount(staging.Id), events.SubscriberCount(dev.Id)));

        await tab.RunAsync(s => s.SelectEnvironmentAsync(dev.Id));
        Assert.Equal((before.Staging, before.Dev + 1), (events.SubscriberCount(staging.Id), events.SubscriberCount(dev.Id)));

        var applied = tab.State.LiveEventsApplied;
        await IngestAsync(staging, 1, "Not shown");
        var shown = (await IngestAsync(dev, 1, "Shown"))[0];
        await UntilAsync(() => tab.State.Items.Any(i => i.Id == shown));
        // Dev's capture, then dev's "now searchable" once the index has it; staging's never arrive.
        await _core.Get<IngestWriter>().WaitUntilSearchableAsync();
        await UntilAsync(() => tab.State.LiveEventsApplied >= applied + 2);
        Assert.Equal(applied + 2, tab.State.LiveEventsApplied);

        tab.Dispose();
        Assert.Equal(before, (events.SubscriberCount(staging.Id), events.SubscriberCount(dev.Id)));
    }

    [Fact]
    public async Task Typing_fast_runs_one_search_for_the_whole_text_once_typing_pauses()
    {
        var (owner, staging, _) = await WorldAsync();
        var token = Guid.NewGuid().ToString("N")[..8];
        var wanted = (await IngestAsync(staging, 1, $"Invoice {token}"))[0];
        await IngestAsync(staging, 2, $"Invoice {token[..4]}");
        await _core.Get<IngestWriter>().WaitUntilSearchableAsync(); // free text finds mail once indexed
        using var tab = await OpenAsync(owner, live: false);
        var text = $"invoice {token}";

        var searches = new List<Task>();
        foreach (var length in Enumerable.Range(1, text.Length))
        {
            tab.State.Search = text[..length];
            searches.Add(tab.State.SearchChangedAsync());
            _time.Advance(TimeSpan.FromMilliseconds(40)); // faster than the debounce
        }
        Assert.Equal("", tab.State.ShownSearch); // no search ran while typing
        Assert.Equal(3, tab.State.Items.Count);

        _time.Advance(InboxState.SearchDebounce);
        await Task.WhenAll(searches).WaitAsync(Wait);

        Assert.Equal(text, tab.State.ShownSearch);
        Assert.Equal([wanted], tab.State.Items.Select(i => i.Id));
    }

    [Fact]
    public async Task An_answer_to_an_older_search_never_replaces_a_newer_one()
    {
        var (owner, staging, _) = await WorldAsync();
        var token = Guid.NewGuid().ToString("N")[..8];
        var older = (await IngestAsync(staging, 1, $"Older {token}"))[0];
        var newer = (await IngestAsync(staging, 1, $"Newer {token}"))[0];
        await _core.Get<IngestWriter>().WaitUntilSearchableAsync(); // free text finds mail once indexed
        using var tab = await OpenAsync(owner, live: false);

        tab.State.Search = $"older {token}";
        var first = tab.State.SearchChangedAsync();
        _time.Advance(InboxState.SearchDebounce); // the older query is now running
        tab.State.Search = $"newer {token}";
        var second = tab.State.SearchChangedAsync();
        _time.Advance(InboxState.SearchDebounce);
        await Task.WhenAll(first, second).WaitAsync(Wait);

        Assert.Equal($"newer {token}", tab.State.ShownSearch);
        Assert.Equal([newer], tab.State.Items.Select(i => i.Id));
        Assert.DoesNotContain(older, tab.State.Items.Select(i => i.Id));
    }

    [Fact]
    public async Task Mail_that_becomes_searchable_while_a_search_runs_is_in_its_results()
    {
        var (owner, staging, _) = await WorldAsync();
        var token = Guid.NewGuid().ToString("N")[..8];
        var store = new SearchBeforeIndexStore(_core.Get<IMessageStore>());
        using var tab = await OpenAsync(owner, store: store);
        var captured = (await IngestAsync(staging, 1, $"Invoice {token}"))[0];
        await _core.Get<IngestWriter>().WaitUntilSearchableAsync();
        await UntilAsync(() => tab.State.Items.Any(i => i.Id == captured)); // its capture is applied: the list shows it

        // The search's read starts before the index has the message (as under load, where the index follows by a fraction of
        // a second): it answers without it. While that read runs, the index step tells the inbox the mail is searchable.
        store.NextSearchAnswersWithout(captured);
        tab.State.Search = token;
        var search = tab.State.SearchChangedAsync();
        _time.Advance(InboxState.SearchDebounce);
        await store.SearchReadStarted.WaitAsync(Wait);
        var applied = tab.State.LiveEventsApplied;
        _core.Get<MessageEvents>().Publish(new MessagesSearchable(staging.Project!.OrganizationId, staging.Id));
        await UntilAsync(() => tab.State.LiveEventsApplied > applied);
        store.FinishSearchRead();
        await search.WaitAsync(Wait);

        Assert.Equal(token, tab.State.ShownSearch);
        await UntilAsync(() => tab.State.Items.Select(i => i.Id).SequenceEqual([captured]));
    }

    /// <summary>The real store, except that one free-text read can be made to answer as the store did before the index had a
    /// message (that message left out) and to finish only when the test says.</summary>
    private sealed class SearchBeforeIndexStore(IMessageStore inner) : IMessageStore
    {
        private Guid _notIndexedYet;
        private int _armed;
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _finish = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task SearchReadStarted => _started.Task;
        public void NextSearchAnswersWithout(Guid messageId)
        {
            _notIndexedYet = messageId;
            Volatile.Write(ref _armed, 1);
        }
        public void FinishSearchRead() => _finish.TrySetResult();

        public async Task<MessagePage> ListAsync(MessageListQuery query, CancellationToken cancellationToken = default)
        {
            var page = await inner.ListAsync(query, cancellationToken);
            if (query.Search is null || Interlocked.Exchange(ref _armed, 0) == 0) return page;
            _started.TrySetResult();
            await _finish.Task;
            return page with { Items = [.. page.Items.Where(i => i.Id != _notIndexedYet)] };
        }

        public Task<CapturedMessage?> GetAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default) => inner.GetAsync(messageId, environmentIds, cancellationToken);
        public Task<Stream?> OpenRawAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default) => inner.OpenRawAsync(messageId, environmentIds, cancellationToken);
        public Task SetReadAsync(Guid messageId, bool isRead, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default) => inner.SetReadAsync(messageId, isRead, environmentIds, cancellationToken);
        public Task MarkAllReadAsync(IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default) => inner.MarkAllReadAsync(environmentIds, cancellationToken);
        public Task<bool> DeleteAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default) => inner.DeleteAsync(messageId, environmentIds, cancellationToken);
        public Task<int> CountAsync(Guid environmentId, CancellationToken cancellationToken = default) => inner.CountAsync(environmentId, cancellationToken);
    }

    /// <summary>Ingests concurrently, like several SMTP connections at once: the events come as a burst.</summary>
    private async Task<List<Guid>> BurstAsync(ProjectEnvironment environment, int count, string subject, int connections = 8)
    {
        var ids = new Guid[count];
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async connection =>
        {
            for (var i = connection; i < count; i += connections)
                ids[i] = await _core.IngestAsync(environment, SampleMail.Plain($"{subject} {i:000}"));
        }));
        return [.. ids];
    }

    /// <summary>What the store lists for the environment, newest first: the order the inbox must show.</summary>
    private async Task<List<Guid>> StoreOrderAsync(ProjectEnvironment environment)
    {
        var ids = new List<Guid>();
        MessageCursor? after = null;
        do
        {
            var page = await _core.Get<IMessageStore>().ListAsync(new MessageListQuery([environment.Id], null, after, MessageStore.MaxPageSize));
            ids.AddRange(page.Items.Select(i => i.Id));
            after = page.Next;
        } while (after is not null);
        return ids;
    }

    /// <summary>The list shows the newest messages, in order, with nothing missing between them.</summary>
    private static bool ShowsTheNewest(Tab tab, List<Guid> expected)
    {
        var shown = tab.State.Items.Select(i => i.Id).ToList();
        return shown.Count > 0 && shown.SequenceEqual(expected.Take(shown.Count));
    }

    /// <summary>Loads older pages until there are none: what a reader scrolling to the bottom ends up with.</summary>
    private static async Task<List<Guid>> ScrollToTheEndAsync(Tab tab)
    {
        while (tab.State.HasMore) await tab.RunAsync(s => s.LoadMoreAsync());
        return [.. tab.State.Items.Select(i => i.Id)];
    }

    [Fact]
    public async Task A_burst_into_an_open_inbox_ends_with_the_newest_rows_on_top_and_every_message_once()
    {
        var (owner, staging, _) = await WorldAsync();
        var before = await IngestAsync(staging, 5, "Earlier");
        using var tab = await OpenAsync(owner);
        await tab.RunAsync(s => s.SelectEnvironmentAsync(staging.Id));

        var burst = await BurstAsync(staging, 240, "Burst");
        var expected = await StoreOrderAsync(staging);
        Assert.Equal(before.Count + burst.Count, expected.Count);
        // The rows shown are exactly the newest, in order, with nothing skipped between them.
        await UntilAsync(() => ShowsTheNewest(tab, expected));
        Assert.True(tab.State.Items.Count >= InboxState.PageSize);
        Assert.Equal(expected, await ScrollToTheEndAsync(tab));
    }

    [Fact]
    public async Task More_mail_than_one_read_holds_arriving_while_the_inbox_is_busy_leaves_no_hole_in_the_list()
    {
        var (owner, staging, _) = await WorldAsync();
        var before = await IngestAsync(staging, 10, "Earlier");
        using var tab = await OpenAsync(owner);
        await tab.RunAsync(s => s.SelectEnvironmentAsync(staging.Id));
        Assert.Equal(before.Count, tab.State.Items.Count);

        // The page is busy (a slow render, a search) while more mail than one merge may read arrives.
        var busy = new TaskCompletionSource();
        var holding = tab.RunAsync(_ => busy.Task);
        var burst = await BurstAsync(staging, MessageStore.MaxPageSize + 60, "Flood");
        busy.SetResult();
        await holding;
        var expected = await StoreOrderAsync(staging);
        Assert.Equal(before.Count + burst.Count, expected.Count);
        await UntilAsync(() => ShowsTheNewest(tab, expected));
        Assert.Equal(expected, await ScrollToTheEndAsync(tab));
    }

    [Fact]
    public async Task An_inbox_left_open_under_a_flood_stays_at_its_size_and_load_older_continues_without_a_gap()
    {
        var (owner, staging, _) = await WorldAsync();
        await BurstAsync(staging, InboxState.MaxLiveRows, "Earlier");
        using var tab = await OpenAsync(owner);
        await tab.RunAsync(s => s.SelectEnvironmentAsync(staging.Id));
        while (tab.State.Items.Count < InboxState.MaxLiveRows) await tab.RunAsync(s => s.LoadMoreAsync());

        await BurstAsync(staging, 100, "Flood");
        var expected = await StoreOrderAsync(staging);
        await UntilAsync(() => ShowsTheNewest(tab, expected));

        Assert.Equal(InboxState.MaxLiveRows, tab.State.Items.Count);
        Assert.True(tab.State.HasMore);
        Assert.Equal(expected, await ScrollToTheEndAsync(tab));
    }
}
