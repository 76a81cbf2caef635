using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Mailtest.Smtp.Protection;
using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Messages;

/// <summary>A parsed, sealed message ready to be written in one of the writer's transactions.</summary>
/// <param name="SearchText">What free-text search reads: subject, addresses and body text.</param>
public sealed record PreparedMessage(CapturedMessage Summary, SealedContent Content, string SearchText)
{
    /// <summary>SQLite: what its full-text index will hold for <see cref="SearchText"/> (<see cref="SearchTrigrams.IndexText"/>),
    /// computed before the message joins the writer's queue; null elsewhere.</summary>
    public string? SearchIndexText { get; init; }
}

/// <summary>
/// The sealed raw message (see <see cref="RawMessageSeal"/>) on its way into the database: in memory
/// when small, otherwise in a file next to the spool that the writer streams in and then deletes.
/// (A file per message cost more than the sealing itself: creating and deleting thousands of files a
/// second makes ext4 search ever longer for an inode it may reuse.)
/// </summary>
public sealed class SealedContent
{
    private readonly string? _path;
    private readonly byte[]? _bytes;

    private SealedContent(string? path, byte[]? bytes, long length)
    {
        _path = path;
        _bytes = bytes;
        Length = length;
    }

    public static SealedContent InMemory(byte[] bytes) => new(null, bytes, bytes.Length);

    public static SealedContent InFile(string path, long length) => new(path, null, length);

    public long Length { get; }

    /// <summary>The sealed bytes when they are held in memory, else null.</summary>
    internal byte[]? InMemoryBytes => _bytes;

    /// <summary>The sealed bytes from the start (a new stream each time: a batch written again reads them again).</summary>
    public Stream OpenRead() => _bytes is not null
        ? new MemoryStream(_bytes, writable: false)
        : new FileStream(_path!, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);

    /// <summary>Removes the file, if there is one, once the message is committed (or refused).</summary>
    internal void Discard()
    {
        if (_path is not null) File.Delete(_path);
    }

    public override string ToString() => _path ?? $"{Length} sealed bytes in memory";
}

/// <summary>
/// The one writer of captured mail, and the one indexer. Concurrent SMTP sessions queue their
/// messages on a channel; a single commit loop drains whatever is waiting into one transaction, so many
/// sessions share each commit and SQLite's single writer is never fought over. Each caller is
/// released only after the commit that holds its message (then, and only then, may SMTP answer 250).
/// <para>
/// Durable first, searchable a moment later: a commit holds the summary, the sealed raw message and
/// the text to index; the full-text index is brought up to date afterwards by a second loop, in
/// batches, at the same time as the commits that follow (on SQLite the index is a file of its own,
/// <see cref="SearchIndexFile"/>, so an index step holds up no commit). It indexes once no mail has been
/// committed for <see cref="IdleIndexDelay"/>, and under load at least every <see cref="IndexDelay"/>. What is
/// committed but not yet indexed is found again after a crash (see <see cref="IMessageBatchWriter.IndexPendingAsync"/>).
/// </para>
/// </summary>
public sealed class IngestWriter : IAsyncDisposable, IDisposable
{
    /// <summary>At most this many messages, or this many sealed bytes, per transaction.</summary>
    private const int MaxBatchMessages = 200;
    private const long MaxBatchBytes = 32L * 1024 * 1024;

    /// <summary>Under load, committed text waits at most this long before the index loop takes it.</summary>
    public static readonly TimeSpan IndexDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>The index loop takes committed text once no more has been committed for this long.</summary>
    public static readonly TimeSpan IdleIndexDelay = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Search lag the writer allows before it holds the next commit for the index: the index loop runs beside
    /// the commits, and a body with many distinct trigrams (random words) costs more to index than to
    /// commit, so without a bound the index would fall ever further behind under load. Held, the SMTP
    /// sessions wait for their 250 a moment and leave the CPU to the index. Not while the index catches
    /// up after a start (a rebuilt index file may take minutes; new mail is not held for it), nor while
    /// its steps fail, and at most <see cref="MaxCommitHold"/> per commit.
    /// </summary>
    public static readonly TimeSpan MaxSearchLag = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan MaxCommitHold = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Before the lag reaches <see cref="MaxSearchLag"/>, from this lag on, each commit waits a little
    /// (up to <see cref="MaxCommitPace"/>, more the further behind): the sessions slow down and leave
    /// the index loop CPU while both keep going, instead of the stop-and-go of holding (during a hold
    /// one core indexes and the other idles).
    /// </summary>
    private static readonly TimeSpan PaceSearchLag = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan MaxCommitPace = TimeSpan.FromMilliseconds(8);

    /// <summary>With no commit to follow, the index loop still looks this often for deleted mail to take out of the index.</summary>
    public static readonly TimeSpan DeletionPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// An index transaction aims at most at this long, so that a wait for searchability or a stop is not
    /// held up for long, and the main file's write-ahead log can be checkpointed past the step's read.
    /// Under load a step takes in everything committed since the last one (~100 ms of mail), well under
    /// this; the bound matters when catching up after a start (a rebuilt index file: every message).
    /// Indexing costs from ~0.1 ms to ~2 ms a message depending on how many distinct trigrams a body
    /// holds, so the number of rows per step follows the measured cost.
    /// </summary>
    private static readonly TimeSpan IndexStepTarget = TimeSpan.FromMilliseconds(500);
    private const int MinIndexRows = 20;
    private const int MaxIndexRows = 5_000;
    private double _indexMillisecondsPerRow = 0.5; // the index loop's own

    /// <summary>The writer's meter: commits and messages per commit, readable live with
    /// <c>dotnet-counters monitor --counters Mailtest.Ingest -p PID</c> (the ingest benchmark does).</summary>
    public const string MeterName = "Mailtest.Ingest";
    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Commits = Meter.CreateCounter<long>("mailtest.ingest.commits", "{transaction}", "Ingest transactions committed");
    private static readonly Histogram<int> BatchSizes = Meter.CreateHistogram<int>("mailtest.ingest.batch_size", "{message}", "Messages per committed ingest transaction");
    private static IngestWriter? _measured; // the gauge below reports the latest writer (one per application)

    static IngestWriter() =>
        Meter.CreateObservableGauge("mailtest.ingest.search_lag", () => _measured?.SearchLagMilliseconds ?? 0, "ms",
            "How long the oldest committed message not yet searchable has waited (0: the index is current)");

    private readonly IMessageBatchWriter _tables;
    private readonly MessageEvents _events;
    private readonly OrganizationUsage _usage;
    private readonly ILogger<IngestWriter> _logger;
    /// <summary>
    /// A database outage fails every message for minutes: logged when it starts and when it ends, not per
    /// message (each sender is still answered 451 by the SMTP engine and retries). Likewise the index loop's retries.
    /// </summary>
    private readonly FailureIncident _storing, _indexing;
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>Wakes the index loop (a commit, or someone waiting for the index); one waiting wake-up stands for any number.</summary>
    private readonly Channel<bool> _indexWake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    /// <summary>Tells a held commit loop that an index step has ended (see <see cref="MaxSearchLag"/>).</summary>
    private readonly Channel<bool> _indexStepEnded = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Lazy<Task> _loops;
    private volatile bool _stopping;
    private volatile bool _indexFailing;

    // What the two loops share, under _searchLock.
    private readonly Lock _searchLock = new();
    private long _commitCount;
    /// <summary>Commits not yet searchable, oldest first: when they committed, and which environments they wrote to.</summary>
    private readonly Queue<UnsearchableCommit> _unsearchableCommits = new();
    /// <summary>Everything committed up to this commit is searchable; -1 until the first catch-up after start.</summary>
    private long _searchableThroughCommit = -1;
    private readonly List<(long Commit, TaskCompletionSource Searchable)> _searchWaiters = [];
    /// <summary>Calls of <see cref="WaitUntilIndexCurrentAsync"/> so far, and those still waiting for a complete pass begun after them.</summary>
    private long _indexRequests;
    private readonly List<(long Request, TaskCompletionSource Current)> _indexWaiters = [];
    /// <summary>Calls of <see cref="GiveBackIndexSpaceAsync"/> waiting for the index file's free pages to be given back.</summary>
    private readonly List<TaskCompletionSource> _spaceWaiters = [];
    /// <summary>When the oldest commit not yet searchable committed; 0 when every commit is searchable (read by the gauge).</summary>
    private long _oldestUnsearchableTimestamp;
    /// <summary>When the last commit was made (<see cref="GatherAsync"/>).</summary>
    private long _lastCommitTimestamp;

    internal IngestWriter(IMessageBatchWriter tables, MessageEvents events, OrganizationUsage usage, ILogger<IngestWriter> logger)
    {
        _tables = tables;
        _events = events;
        _usage = usage;
        _logger = logger;
        _storing = new FailureIncident(logger, "Storing captured mail");
        _indexing = new FailureIncident(logger, "Bringing the search index up to date");
        // Started on first use (or by IngestWriterStartup when the app starts, to catch up the index).
        _loops = new Lazy<Task>(() => Task.WhenAll(Task.Run(CommitLoopAsync), Task.Run(IndexLoopAsync)), LazyThreadSafetyMode.ExecutionAndPublication);
        _measured = this;
    }

    /// <summary>Search lag: how long the oldest committed message that search cannot find yet has waited (0 when none).</summary>
    public double SearchLagMilliseconds => Interlocked.Read(ref _oldestUnsearchableTimestamp) is var since and > 0 ? Stopwatch.GetElapsedTime(since).TotalMilliseconds : 0;

    /// <summary>Number of transactions committed so far (for tests and diagnostics).</summary>
    public long CommitCount => Interlocked.Read(ref _commitCount);

    /// <summary>Starts the loops without a message, so text committed before a crash is indexed.</summary>
    public void Start() => _ = _loops.Value;

    /// <summary>At start, before the application serves: opens what the index loop writes (see <see cref="IMessageBatchWriter.OpenIndex"/>), then the loops.</summary>
    internal void OpenIndexAndStart()
    {
        try
        {
            if (!_loops.IsValueCreated) _tables.OpenIndex(); // once the loops run, the index loop's own
        }
        catch (Exception error)
        {
            // The index loop opens it again at its first step, and says so if it still cannot.
            _logger.LogWarning(error, "Could not open the search index at start.");
        }
        Start();
    }

    /// <summary>Completes when the transaction holding <paramref name="message"/> has committed.</summary>
    /// <remarks>Cancelling stops the wait, not the write: a queued message is still stored.</remarks>
    public Task WriteAsync(PreparedMessage message, CancellationToken cancellationToken = default)
    {
        var pending = new PendingWrite(_tables.BeforeQueue(message), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
            throw new InvalidOperationException("The ingest writer has stopped.");
        Start();
        return pending.Committed.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Completes when every message committed before this call can be found by free-text search
    /// (the index follows commits by a fraction of a second).
    /// </summary>
    public Task WaitUntilSearchableAsync(CancellationToken cancellationToken = default)
    {
        TaskCompletionSource searchable;
        lock (_searchLock)
        {
            if (_searchableThroughCommit >= _commitCount) return Task.CompletedTask;
            searchable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _searchWaiters.Add((_commitCount, searchable));
        }
        Start();
        return searchable.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Completes after an index pass begun after this call has left nothing to do: what was committed
    /// before the call is searchable, and what was deleted before it is out of the index too (deletions
    /// otherwise leave the index within about <see cref="DeletionPollInterval"/>).
    /// </summary>
    public Task WaitUntilIndexCurrentAsync(CancellationToken cancellationToken = default)
    {
        var current = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_searchLock) _indexWaiters.Add((++_indexRequests, current));
        _indexWake.Writer.TryWrite(true);
        Start();
        return current.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// After a purge: completes once the deletions made before this call have left the full-text index and its
    /// file's free pages have been given back to the file system (SQLite; a purge frees most of the index file).
    /// The index loop does it, a short step at a time between its index steps (merging the segments that hold the
    /// deleted rows, then incremental vacuum): it is the only writer of the index file, so such a step never waits
    /// for an index step nor an index step for it, and mail that comes goes first.
    /// </summary>
    public async Task GiveBackIndexSpaceAsync(CancellationToken cancellationToken = default)
    {
        await WaitUntilIndexCurrentAsync(cancellationToken); // the pages are free once the deletions are applied
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_searchLock) _spaceWaiters.Add(done);
        _indexWake.Writer.TryWrite(true);
        await done.Task.WaitAsync(cancellationToken);
    }

    private async Task CommitLoopAsync()
    {
        var batch = new List<PendingWrite>(MaxBatchMessages);
        try
        {
            while (await _queue.Reader.WaitToReadAsync())
            {
                await UntilIndexKeepsUpAsync();
                batch.Clear();
                long bytes = 0;
                while (batch.Count < MaxBatchMessages && bytes < MaxBatchBytes && _queue.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                    bytes += next.Message.Content.Length;
                }
                if (batch.Count > 0) await CommitAsync(batch);
            }
        }
        finally
        {
            // Stopping: the index loop ends too, after its current step (what is committed is indexed at the next start).
            _stopping = true;
            _indexWake.Writer.TryComplete();
        }
    }

    /// <summary>Paces the next commit while the index lags more than <see cref="PaceSearchLag"/>, and holds it while it lags more than <see cref="MaxSearchLag"/> (see there), until a step ends.</summary>
    private async Task UntilIndexKeepsUpAsync()
    {
        if (Interlocked.Read(ref _searchableThroughCommit) < 0 || _indexFailing) return;
        var lag = SearchLagMilliseconds;
        if (lag > PaceSearchLag.TotalMilliseconds && lag <= MaxSearchLag.TotalMilliseconds)
        {
            var behind = (lag - PaceSearchLag.TotalMilliseconds) / (MaxSearchLag - PaceSearchLag).TotalMilliseconds;
            await Task.Delay(behind * MaxCommitPace);
            return;
        }
        var held = Stopwatch.GetTimestamp();
        while (SearchLagMilliseconds > MaxSearchLag.TotalMilliseconds && Interlocked.Read(ref _searchableThroughCommit) >= 0 && !_indexFailing
               && Stopwatch.GetElapsedTime(held) < MaxCommitHold)
            await SignalledWithinAsync(_indexStepEnded.Reader, IndexDelay);
    }

    private async Task IndexLoopAsync()
    {
        var more = true; // a crash may have left work: look at start
        var catchingUp = true;
        long caughtUpRows = 0;
        var merged = false; // nothing indexed since the segments were last merged while idle
        while (!_stopping)
        {
            var idle = false;
            if (!more)
            {
                // Nothing known to do: wait for a commit, but look now and then for deletions anyway.
                var woken = await SignalledWithinAsync(_indexWake.Reader, DeletionPollInterval);
                if (woken is null) break;
                if (woken == true) await GatherAsync();
                idle = woken == false;
                _indexWake.Reader.TryRead(out _); // what woke it during the gather is in this step
            }
            (more, var indexed) = await IndexAsync(); // more left (catching up): the next step at once
            if (indexed > 0) merged = false;
            if (!more) await GiveBackRequestedSpaceAsync();
            if (idle && !more && !merged) merged = await MergeWhileIdleAsync();
            if (!catchingUp) continue;
            caughtUpRows += indexed;
            if (more) continue;
            catchingUp = false;
            // A large catch-up at start (a rebuilt index file) leaves the index in many segments, and every
            // search reads each of them: merged into one, once, while new mail waits a moment for its turn.
            if (caughtUpRows >= OptimizeAfterCatchUpRows) await OptimizeIndexAsync();
        }
        // Stopping: whatever was committed is indexed at the next start.
    }

    /// <summary>
    /// Waits until no commit has come for <see cref="IdleIndexDelay"/>, or for <see cref="IndexDelay"/> at most:
    /// between the commits of a busy stream the queue is empty for moments, and a step per commit would index a
    /// commit's few messages at a time (per message a step of 8 costs about twice one of 400). It looks at the
    /// time of the last commit rather than being woken by each one (~1,000 a second under load).
    /// </summary>
    private async Task GatherAsync()
    {
        var since = Stopwatch.GetTimestamp();
        while (!_stopping)
        {
            var quiet = Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastCommitTimestamp));
            var waited = Stopwatch.GetElapsedTime(since);
            if (quiet >= IdleIndexDelay || waited >= IndexDelay) return;
            await Task.Delay(Min(IdleIndexDelay - quiet, IndexDelay - waited));
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>True when <paramref name="signal"/> fires within <paramref name="delay"/> (taken), false when not, null when it is completed (the writer is stopping).</summary>
    private static async Task<bool?> SignalledWithinAsync(ChannelReader<bool> signal, TimeSpan delay)
    {
        using var timeout = new CancellationTokenSource(delay);
        try
        {
            if (!await signal.WaitToReadAsync(timeout.Token)) return null;
            signal.TryRead(out _);
            return true;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return false;
        }
    }

    private const int OptimizeAfterCatchUpRows = 10_000;

    /// <summary>A commit (or a caller) has woken the index loop: the upkeep steps below give way to its index step.</summary>
    private bool MailWaits => _indexWake.Reader.TryPeek(out _);

    /// <summary>
    /// Under load the index's segments are merged only 16 at a time, which keeps indexing cheap (see
    /// <see cref="SearchIndexFile"/>); once no mail has come for a while they are merged further, a small
    /// step at a time, so searches read few of them again. Mail that comes stops it at the next step.
    /// </summary>
    /// <returns>True when nothing is left to try before more mail is indexed: all merged, or merging failed (logged once, not every second).</returns>
    private async Task<bool> MergeWhileIdleAsync()
    {
        try
        {
            while (!_stopping && !MailWaits)
                if (!await _tables.MergeIndexStepAsync()) return true;
        }
        catch (Exception error)
        {
            _logger.LogWarning(error, "Could not merge the search index's segments; tried again once more mail is indexed (searches read more segments meanwhile).");
            return true;
        }
        return false;
    }

    /// <summary>
    /// For the callers of <see cref="GiveBackIndexSpaceAsync"/>: steps until no free page is left, while no mail
    /// waits (but one step at least, so a steady stream of mail cannot hold it off for ever); then they are answered.
    /// </summary>
    private async Task GiveBackRequestedSpaceAsync()
    {
        lock (_searchLock)
            if (_spaceWaiters.Count == 0) return;
        try
        {
            // The purged rows' segments first: FTS5 only marks deleted rows, and frees their pages when it merges the segments again.
            var more = true;
            do more = await _tables.MergeIndexStepAsync() || await _tables.GiveBackIndexSpaceStepAsync();
            while (more && !_stopping && !MailWaits);
            if (more) return; // the rest once this mail is indexed
        }
        catch (Exception error)
        {
            _logger.LogWarning(error, "Could not give the search index file's free pages back to the file system; they are used again for new mail.");
        }
        TaskCompletionSource[] answered;
        lock (_searchLock)
        {
            answered = [.. _spaceWaiters];
            _spaceWaiters.Clear();
        }
        foreach (var waiter in answered) waiter.TrySetResult();
    }

    private async Task OptimizeIndexAsync()
    {
        try
        {
            await _tables.OptimizeIndexAsync();
        }
        catch (Exception error)
        {
            _logger.LogWarning(error, "Could not merge the search index after catching up; searches read more segments until it merges itself.");
        }
    }

    /// <summary>One index step: whether more is left to do, and how many rows it indexed.</summary>
    private async Task<(bool More, int Indexed)> IndexAsync()
    {
        long commit, request;
        lock (_searchLock) (commit, request) = (_commitCount, _indexRequests); // the step's read sees at least these commits
        var maxRows = (int)Math.Clamp(IndexStepTarget.TotalMilliseconds / _indexMillisecondsPerRow, MinIndexRows, MaxIndexRows);
        IndexPass pass;
        try
        {
            var started = Stopwatch.GetTimestamp();
            pass = await _tables.IndexPendingAsync(maxRows);
            if (pass.Indexed + pass.Removed > 0)
                _indexMillisecondsPerRow = Math.Max(0.01, 0.5 * _indexMillisecondsPerRow + 0.5 * Stopwatch.GetElapsedTime(started).TotalMilliseconds / (pass.Indexed + pass.Removed));
        }
        catch (Exception error)
        {
            // Nothing is lost: the text is committed, and the next pass (or the next start) indexes it.
            _indexFailing = true; // and ingest is not held for an index that does not move
            _indexing.Failed(error, "retrying shortly");
            await Task.Delay(IndexDelay);
            return (true, 0);
        }
        _indexFailing = false;
        _indexing.Succeeded();
        _indexStepEnded.Writer.TryWrite(true);
        if (pass.Indexed >= maxRows || pass.Removed >= maxRows) return (true, pass.Indexed);
        var searchable = new HashSet<(Guid OrganizationId, Guid EnvironmentId)>();
        lock (_searchLock)
        {
            while (_unsearchableCommits.TryPeek(out var oldest) && oldest.Commit <= commit)
                searchable.UnionWith(_unsearchableCommits.Dequeue().Environments);
            Interlocked.Exchange(ref _oldestUnsearchableTimestamp, _unsearchableCommits.TryPeek(out var next) ? next.Timestamp : 0);
        }
        // Lists showing a free-text search re-read now: the mail they were told of is searchable. Before the
        // waiters are released: once WaitUntilSearchableAsync returns, these events have been published.
        foreach (var (organizationId, environmentId) in searchable)
            _events.Publish(new MessagesSearchable(organizationId, environmentId));
        lock (_searchLock)
        {
            _searchableThroughCommit = Math.Max(_searchableThroughCommit, commit);
            _searchWaiters.RemoveAll(waiter =>
            {
                if (waiter.Commit > commit) return false;
                waiter.Searchable.TrySetResult();
                return true;
            });
            _indexWaiters.RemoveAll(waiter =>
            {
                if (waiter.Request > request) return false;
                waiter.Current.TrySetResult();
                return true;
            });
        }
        return (false, pass.Indexed);
    }

    private async Task CommitAsync(List<PendingWrite> batch)
    {
        try
        {
            await _tables.WriteAsync([.. batch.Select(p => p.Message)]);
            _storing.Succeeded();
            lock (_searchLock)
            {
                var now = Stopwatch.GetTimestamp();
                if (_unsearchableCommits.Count == 0) Interlocked.Exchange(ref _oldestUnsearchableTimestamp, now);
                _unsearchableCommits.Enqueue(new(++_commitCount, now, [.. batch.Select(p => (p.Message.Summary.OrganizationId, p.Message.Summary.EnvironmentId)).Distinct()]));
                Interlocked.Exchange(ref _lastCommitTimestamp, now);
            }
            _indexWake.Writer.TryWrite(true);
            Commits.Add(1);
            BatchSizes.Record(batch.Count);
            Released(batch);
            foreach (var pending in batch) DeleteSealedFile(pending.Message);
        }
        catch (Exception batchError) when (batch.Count > 1)
        {
            // One bad message must not fail its neighbours: write them one by one.
            _storing.Failed(batchError, $"a batch of {batch.Count} messages; writing them one by one");
            foreach (var single in batch)
                await CommitAsync([single]);
        }
        catch (Exception error)
        {
            _storing.Failed(error, $"message {batch[0].Message.Summary.Id} (its sender is answered to retry later)");
            batch[0].Committed.TrySetException(error);
            DeleteSealedFile(batch[0].Message);
        }
    }

    private void DeleteSealedFile(PreparedMessage message)
    {
        try { message.Content.Discard(); }
        catch (IOException error) { _logger.LogWarning(error, "Could not delete {Path}.", message.Content); }
    }

    private void Released(List<PendingWrite> batch)
    {
        foreach (var pending in batch)
        {
            var summary = pending.Message.Summary;
            _usage.Added(summary.OrganizationId, summary.Size);
            pending.Committed.TrySetResult();
            _events.Publish(new MessageCaptured(summary.OrganizationId, summary.EnvironmentId, summary.Id, new MessageListItem(summary.Id, summary.EnvironmentId,
                summary.ReceivedUtc, summary.EnvelopeFrom, summary.EnvelopeTo, summary.From, summary.To, summary.Subject, summary.AttachmentCount, summary.IsRead, summary.Size, summary.Tags)));
        }
    }

    /// <summary>Stops taking messages; what is queued is still written by the running loop.</summary>
    public void Dispose() => _queue.Writer.TryComplete();

    /// <summary>Stops taking messages and waits until everything queued is written.</summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.CompareExchange(ref _measured, null, this);
        _queue.Writer.TryComplete();
        if (_loops.IsValueCreated) await _loops.Value;
        await _tables.DisposeAsync();
    }

    private sealed record PendingWrite(PreparedMessage Message, TaskCompletionSource Committed);

    private sealed record UnsearchableCommit(long Commit, long Timestamp, (Guid OrganizationId, Guid EnvironmentId)[] Environments);
}
