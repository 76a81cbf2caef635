using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Preview;
using Mailtest.Web.Components.Inbox;

namespace Mailtest.Web.Inbox;

/// <summary>
/// What one open inbox shows and how it changes: the environment filter, the debounced search, the
/// loaded pages, the selection and its preview, and live events applied in place. InboxPage only
/// renders it; unit and bUnit tests drive it without a browser.
/// </summary>
/// <remarks>
/// Not thread-safe: every call, including the live handler, runs through <see cref="Dispatch"/>
/// (the Blazor renderer's <c>InvokeAsync</c> in the page), one at a time.
/// </remarks>
public sealed class InboxState(InboxReader reader, MessageEvents events, TimeProvider time) : IDisposable
{
    public const int PageSize = 50;

    /// <summary>
    /// Live mail never grows the list past this many rows (or past what the reader loaded with "Load
    /// older", if more): the oldest drop off the bottom and "Load older" continues from there, so an
    /// inbox left open under a flood of mail stays the same size.
    /// </summary>
    public const int MaxLiveRows = 1000;

    /// <summary>How long typing must pause before the search runs.</summary>
    public static readonly TimeSpan SearchDebounce = TimeSpan.FromMilliseconds(250);

    private List<MessageListItem> _items = [];
    private CancellationTokenSource? _searchDebounce;
    private MessageSubscription? _subscription;
    // Bumped whenever the query changes, so an answer to an older query is never applied over a newer one.
    private int _queryVersion;
    // Counts captured-mail events, so a query that ran while mail arrived knows to merge it in after.
    private int _captures;
    // Counts index steps told (MessagesSearchable), so a search that ran while mail became searchable knows to read again after.
    private int _searchables;
    // Captured-mail events since the last merge read: how many rows that read must cover.
    private int _capturesToMerge;
    private int _liveEventsApplied;

    /// <summary>Runs live changes one at a time where the view lives, then re-renders. Tests leave the default.</summary>
    public Func<Func<Task>, Task> Dispatch { get; set; } = work => work();

    public IReadOnlyList<MessageListItem> Items => _items;

    /// <summary>How many live events this list has applied (they come in batches; tests and diagnostics).</summary>
    public int LiveEventsApplied => Volatile.Read(ref _liveEventsApplied);

    public MessageCursor? Next { get; private set; }
    public bool HasMore => Next is not null;
    public Guid? EnvironmentFilter { get; private set; }

    /// <summary>The search box, bound by the page; <see cref="SearchChangedAsync"/> runs after each change.</summary>
    public string Search { get; set; } = "";

    /// <summary>The search the list currently shows (the box may be ahead of it while typing).</summary>
    public string ShownSearch { get; private set; } = "";

    public Guid? SelectedId { get; private set; }
    public OpenedMessage? Selected { get; private set; }
    public InboxLinks? SelectedLinks { get; private set; }
    public int ActiveTab { get; set; }
    public bool ConfirmingDelete { get; set; }
    public bool ShowingHelp { get; set; }
    public bool RawCopied { get; set; }

    public bool IsEmptyInbox => _items.Count == 0 && string.IsNullOrWhiteSpace(ShownSearch) && EnvironmentFilter is null;

    public Task LoadAsync(CancellationToken cancellationToken = default) => ShowQueryAsync(Search, cancellationToken);

    /// <summary>Follows live events of the environments the list shows (call once the view is interactive).</summary>
    public void StartLive()
    {
        _subscription?.Dispose();
        IEnumerable<Guid> shown = EnvironmentFilter is { } id ? [id] : reader.Viewable.Select(e => e.Id);
        // In batches: a burst of mail becomes one re-read and one render, not one per message (at
        // hundreds a second, one each left the list further and further behind).
        _subscription = events.SubscribeInBatches(shown, async (batch, cancellationToken) =>
        {
            var readable = new List<MessageEvent>(batch.Count);
            // Checked against the caller's permissions now, not those the page opened with.
            foreach (var e in batch)
                if (await reader.MayReadAsync(e.EnvironmentId, cancellationToken)) readable.Add(e);
            if (readable.Count > 0) await Dispatch(() => ApplyAsync(readable));
        });
    }

    /// <summary>The caller's permissions changed: what they may no longer read leaves the list, the filter and the preview.</summary>
    public async Task AccessChangedAsync()
    {
        await reader.LoadCallerAsync();
        if (EnvironmentFilter is { } filter && !await reader.MayReadAsync(filter)) EnvironmentFilter = null;
        if (Selected is not null && !await reader.MayReadAsync(Selected.Summary.EnvironmentId))
        {
            ClearSelection();
            ConfirmingDelete = false;
        }
        if (_subscription is not null) StartLive();
        await LoadAsync();
    }

    public async Task SelectEnvironmentAsync(Guid? environmentId)
    {
        EnvironmentFilter = environmentId is { } id && await reader.MayReadAsync(id) ? id : null;
        CancelPendingSearch();
        if (_subscription is not null) StartLive(); // subscribe before reading, so nothing falls in between
        await LoadAsync();
    }

    /// <summary>After the box changed: wait for typing to pause, then show that search unless a newer one began.</summary>
    public async Task SearchChangedAsync()
    {
        CancelPendingSearch();
        var debounce = _searchDebounce = new CancellationTokenSource();
        var search = Search;
        try
        {
            await Task.Delay(SearchDebounce, time, debounce.Token);
            await ShowQueryAsync(search, debounce.Token);
        }
        catch (OperationCanceledException) when (debounce.IsCancellationRequested) { }
    }

    public async Task LoadMoreAsync()
    {
        if (Next is null) return;
        var version = _queryVersion;
        var page = await reader.ListAsync(EnvironmentFilter, ShownSearch, Next, PageSize);
        if (version != _queryVersion) return;
        var known = _items.Select(i => i.Id).ToHashSet();
        _items.AddRange(page.Items.Where(i => !known.Contains(i.Id)));
        Next = page.Next;
    }

    public async Task SelectAsync(Guid id)
    {
        var opened = await reader.OpenAsync(id);
        RawCopied = false;
        if (opened is null)
        {
            // Deleted meanwhile, or no longer viewable.
            _items.RemoveAll(i => i.Id == id);
            ClearSelection();
            return;
        }
        SelectedId = id;
        Selected = opened;
        SelectedLinks = reader.LinksFor(opened);
        if (!opened.Summary.IsRead) await SetReadAsync(true);
    }

    public async Task SetReadAsync(bool isRead)
    {
        if (Selected is null) return;
        var id = Selected.Summary.Id;
        await reader.SetReadAsync(id, isRead);
        // Shown at once here; other inboxes learn it from MessageReadChanged.
        MarkRead(id, isRead);
    }

    public async Task MarkAllReadAsync()
    {
        await reader.MarkAllReadAsync(EnvironmentFilter);
        _items = [.. _items.Select(i => i with { IsRead = true })];
        if (Selected is not null) Selected.Summary.IsRead = true;
    }

    public async Task DeleteSelectedAsync()
    {
        ConfirmingDelete = false;
        if (Selected is null) return;
        var id = Selected.Summary.Id;
        var index = _items.FindIndex(i => i.Id == id);
        await reader.DeleteAsync(id);
        _items.RemoveAll(i => i.Id == id);
        ClearSelection();
        // Like a mail client: the next message takes its place.
        if (_items.Count > 0 && index >= 0) await SelectAsync(_items[Math.Min(index, _items.Count - 1)].Id);
    }

    /// <summary>j/k: the next or previous message in the list; the first one when none is selected.</summary>
    public async Task MoveAsync(int step)
    {
        if (_items.Count == 0) return;
        var index = _items.FindIndex(i => i.Id == SelectedId);
        var target = index < 0 ? 0 : Math.Clamp(index + step, 0, _items.Count - 1);
        if (target != index) await SelectAsync(_items[target].Id);
    }

    /// <summary>h/l: the previous or next preview tab.</summary>
    public void MoveTab(int step)
    {
        if (Selected is not null) ActiveTab = (ActiveTab + step + MessagePreview.TabCount) % MessagePreview.TabCount;
    }

    /// <summary>
    /// Live events of environments this list shows, in publish order, applied in place: the loaded pages
    /// and the selection stay. New mail is merged by one read after the others are applied: the
    /// read is newer than every event of the batch, so it shows each capture as it now stands.
    /// </summary>
    public async Task ApplyAsync(IReadOnlyList<MessageEvent> messageEvents)
    {
        var captured = false;
        foreach (var messageEvent in messageEvents)
        {
            if (messageEvent is MessageCaptured)
            {
                _captures++;
                _capturesToMerge++;
                captured = true;
            }
            else await ApplyOtherAsync(messageEvent);
        }
        if (captured) await MergeNewestAsync();
        Interlocked.Add(ref _liveEventsApplied, messageEvents.Count);
    }

    private async Task ApplyOtherAsync(MessageEvent messageEvent)
    {
        switch (messageEvent)
        {
            case MessageDeleted deleted:
                _items.RemoveAll(i => i.Id == deleted.MessageId);
                if (SelectedId == deleted.MessageId) { ClearSelection(); ConfirmingDelete = false; }
                break;
            case MessageReadChanged read:
                MarkRead(read.MessageId, read.IsRead);
                break;
            case MessagesMarkedRead all:
                _items = [.. _items.Select(i => i.EnvironmentId == all.EnvironmentId ? i with { IsRead = true } : i)];
                if (Selected?.Summary.EnvironmentId == all.EnvironmentId) Selected.Summary.IsRead = true;
                break;
            case MessagesChanged:
                await RefreshLoadedAsync();
                break;
            // A capture announced before the index had it cannot match a free-text search yet: merge again now.
            case MessagesSearchable:
                _searchables++;
                if (!string.IsNullOrWhiteSpace(ShownSearch)) await MergeNewestAsync();
                break;
        }
    }

    private void MarkRead(Guid id, bool isRead)
    {
        var index = _items.FindIndex(i => i.Id == id);
        if (index >= 0) _items[index] = _items[index] with { IsRead = isRead };
        if (Selected?.Summary.Id == id) Selected.Summary.IsRead = isRead;
    }

    // New mail joins the top of the list; pages already loaded below stay where they are. One read
    // covers every capture told so far; if more arrived than a read may hold, the list restarts from
    // the newest page (with "Load older" below it) rather than show a hole.
    private async Task MergeNewestAsync()
    {
        var version = _queryVersion;
        var pageSize = Math.Clamp(_capturesToMerge + 1, PageSize, MessageStore.MaxPageSize);
        _capturesToMerge = 0;
        var page = await reader.ListAsync(EnvironmentFilter, ShownSearch, after: null, pageSize);
        if (version != _queryVersion) return;
        var known = _items.Select(i => i.Id).ToHashSet();
        if (_items.Count > 0 && page.Next is not null && !page.Items.Any(i => known.Contains(i.Id)) && pageSize < MessageStore.MaxPageSize)
        {
            // Mail committed after the captures counted here may fill the read already: read once more,
            // as much as a read may hold, before giving up the rows on screen.
            page = await reader.ListAsync(EnvironmentFilter, ShownSearch, after: null, MessageStore.MaxPageSize);
            if (version != _queryVersion) return;
        }
        if (_items.Count == 0 || (page.Next is not null && !page.Items.Any(i => known.Contains(i.Id))))
        {
            _items = [.. page.Items];
            Next = page.Next;
            return;
        }
        var fresh = page.Items.Where(i => !known.Contains(i.Id)).ToList();
        if (fresh.Count == 0) return;
        var rowsBefore = _items.Count;
        _items = [.. fresh.Concat(_items).OrderByDescending(i => i.ReceivedUtc).ThenByDescending(i => i.Id)];
        var keep = Math.Max(MaxLiveRows, rowsBefore);
        if (_items.Count > keep)
        {
            _items.RemoveRange(keep, _items.Count - keep);
            Next = new MessageCursor(_items[^1].ReceivedUtc, _items[^1].Id);
        }
    }

    // Many rows changed (a purge): read again as many rows as are loaded, and keep the selection if it is still there.
    private async Task RefreshLoadedAsync()
    {
        var version = _queryVersion;
        var page = await reader.ListAsync(EnvironmentFilter, ShownSearch, after: null, Math.Clamp(_items.Count, PageSize, MessageStore.MaxPageSize));
        if (version != _queryVersion) return;
        _items = [.. page.Items];
        Next = page.Next;
        if (SelectedId is { } id && _items.All(i => i.Id != id)) ClearSelection();
    }

    // The first page of a new query (filter or search); an answer to an older query is never shown over it.
    private async Task ShowQueryAsync(string search, CancellationToken cancellationToken)
    {
        var version = ++_queryVersion;
        var (captures, searchables) = (_captures, _searchables);
        var page = await reader.ListAsync(EnvironmentFilter, search, after: null, PageSize, cancellationToken);
        if (version != _queryVersion || cancellationToken.IsCancellationRequested) return;
        ShowPage(page, search);
        // Mail that arrived while the query ran was merged into the list it replaced, and mail that became searchable
        // meanwhile may be missing from this answer (read before the index had it): merge it into this one.
        if (_captures != captures || (!string.IsNullOrWhiteSpace(search) && _searchables != searchables)) await MergeNewestAsync();
    }

    private void ShowPage(MessagePage page, string search)
    {
        _items = [.. page.Items];
        Next = page.Next;
        ShownSearch = search;
        if (SelectedId is { } id && _items.All(i => i.Id != id)) ClearSelection();
    }

    private void ClearSelection()
    {
        SelectedId = null;
        Selected = null;
        SelectedLinks = null;
    }

    private void CancelPendingSearch()
    {
        _searchDebounce?.Cancel();
        _searchDebounce = null;
    }

    public void Dispose()
    {
        CancelPendingSearch();
        // Not awaited: a delivery in flight may itself be waiting to get onto the view's dispatcher.
        _subscription?.Dispose();
    }
}
