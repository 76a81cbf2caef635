using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
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
/// messages on a channel; a single loop drains whatever is waiting into one transaction, so many
/// sessions share each commit and SQLite's single writer is never fought over. Each caller is
/// released only after the commit that holds its message (then, and only then, may SMTP answer 250).
/// <para>
/// Durable first, searchable a moment later: a commit holds the summary, the sealed raw message and
/// the text to index; the full-text index is brought up to date afterwards by the same loop, in
/// batches (maintaining it inside every commit was most of the server's CPU). It indexes once no mail
/// has come for <see cref="IdleIndexDelay"/>, and under load at least every <see cref="IndexDelay"/>. What is committed but
/// not yet indexed is found again after a crash (see <see cref="IMessageBatchWriter.IndexPendingAsync"/>).
/// </para>
/// </summary>
public sealed class IngestWriter : IAsyncDisposable, IDisposable
{
    /// <summary>At most this many messages, or this many sealed bytes, per transaction.</summary>
    private const int MaxBatchMessages = 200;
    private const long MaxBatchBytes = 32L * 1024 * 1024;

    /// <summary>Under load, committed text waits at most this long before the loop indexes it.</summary>
    public static readonly TimeSpan IndexDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>Once no mail is waiting, committed text is indexed if no more mail comes within this long.</summary>
    public static readonly TimeSpan IdleIndexDelay = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// An index transaction aims at most at this long, so mail waiting behind it is not held up for long.
    /// Under load a step takes in everything committed since the last one (~100 ms of mail), well under
    /// this; the bound matters when catching up after a start. Indexing costs from ~0.1 ms to ~2 ms a
    /// message depending on how many distinct trigrams a body holds, so the number of rows per step
    /// follows the measured cost.
    /// </summary>
    private static readonly TimeSpan IndexStepTarget = TimeSpan.FromMilliseconds(500);
    private const int MinIndexRows = 20;
    private const int MaxIndexRows = 5_000;
    private double _indexMillisecondsPerRow = 0.5;

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
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lazy<Task> _loop;

    private readonly Lock _searchLock = new();
    private readonly HashSet<(Guid OrganizationId, Guid EnvironmentId)> _awaitingSearch = []; // touched by the writer loop only
    private readonly List<(long Commit, TaskCompletionSource Searchable)> _searchWaiters = [];
    private long _commitCount;
    /// <summary>Everything committed up to this commit is searchable; -1 until the first catch-up after start.</summary>
    private long _searchableThroughCommit = -1;
    /// <summary>Since when indexing is due (the oldest commit not yet indexed, or the end of the last partial step); null when the index is current.</summary>
    private long? _unindexedSince = Stopwatch.GetTimestamp(); // a crash may have left work: look at start
    /// <summary>Commits not yet searchable, oldest first, with when they committed (touched by the writer loop only).</summary>
    private readonly Queue<(long Commit, long Timestamp)> _unsearchableCommits = new();
    /// <summary>When the oldest commit not yet searchable committed; 0 when every commit is searchable.</summary>
    private long _oldestUnsearchableTimestamp;

    internal IngestWriter(IMessageBatchWriter tables, MessageEvents events, OrganizationUsage usage, ILogger<IngestWriter> logger)
    {
        _tables = tables;
        _events = events;
        _usage = usage;
        _logger = logger;
        // Started on first use (or by IngestWriterStartup when the app starts, to catch up the index).
        _loop = new Lazy<Task>(() => Task.Run(RunAsync), LazyThreadSafetyMode.ExecutionAndPublication);
        _measured = this;
    }

    /// <summary>Search lag: how long the oldest committed message that search cannot find yet has waited (0 when none).</summary>
    public double SearchLagMilliseconds => Interlocked.Read(ref _oldestUnsearchableTimestamp) is var since and > 0 ? Stopwatch.GetElapsedTime(since).TotalMilliseconds : 0;

    /// <summary>Number of transactions committed so far (for tests and diagnostics).</summary>
    public long CommitCount => Interlocked.Read(ref _commitCount);

    /// <summary>Starts the loop without a message, so text committed before a crash is indexed.</summary>
    public void Start() => _ = _loop.Value;

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
            var commit = Interlocked.Read(ref _commitCount);
            if (_searchableThroughCommit >= commit) return Task.CompletedTask;
            searchable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _searchWaiters.Add((commit, searchable));
        }
        Start();
        return searchable.Task.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        var batch = new List<PendingWrite>(MaxBatchMessages);
        while (true)
        {
            if (_queue.Reader.TryPeek(out _))
            {
                batch.Clear();
                long bytes = 0;
                while (batch.Count < MaxBatchMessages && bytes < MaxBatchBytes && _queue.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                    bytes += next.Message.Content.Length;
                }
                await CommitAsync(batch);
                if (_unindexedSince is { } since && Stopwatch.GetElapsedTime(since) >= IndexDelay)
                    await IndexAsync();
                continue;
            }
            // Idle: bring the index up to date, unless more mail comes within IdleIndexDelay. Between the
            // commits of a busy stream the queue is empty for moments; indexing each time would index a
            // commit's few messages per step, and per message a step of 8 costs about twice one of 400.
            if (_unindexedSince is not null)
            {
                if (await MailArrivesWithinAsync(IdleIndexDelay)) continue;
                await IndexAsync();
                continue;
            }
            if (!await _queue.Reader.WaitToReadAsync()) break;
        }
        // Stopping: whatever was committed is indexed now or at the next start.
    }

    /// <summary>True when mail is waiting within <paramref name="delay"/>; false when it is not, or the writer is stopping.</summary>
    private async Task<bool> MailArrivesWithinAsync(TimeSpan delay)
    {
        using var timeout = new CancellationTokenSource(delay);
        try
        {
            return await _queue.Reader.WaitToReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task IndexAsync()
    {
        var commit = Interlocked.Read(ref _commitCount);
        var maxRows = (int)Math.Clamp(IndexStepTarget.TotalMilliseconds / _indexMillisecondsPerRow, MinIndexRows, MaxIndexRows);
        int indexed;
        try
        {
            var started = Stopwatch.GetTimestamp();
            indexed = await _tables.IndexPendingAsync(maxRows);
            if (indexed > 0)
                _indexMillisecondsPerRow = Math.Max(0.01, 0.5 * _indexMillisecondsPerRow + 0.5 * Stopwatch.GetElapsedTime(started).TotalMilliseconds / indexed);
        }
        catch (Exception error)
        {
            // Nothing is lost: the text is committed, and the next pass (or the next start) indexes it.
            _logger.LogError(error, "Could not bring the search index up to date; retrying shortly.");
            await Task.Delay(IndexDelay);
            return;
        }
        if (indexed >= maxRows)
        {
            _unindexedSince = Stopwatch.GetTimestamp(); // more to do: ingest gets its turn, the next step follows within IndexDelay
            return;
        }
        _unindexedSince = null;
        while (_unsearchableCommits.TryPeek(out var oldest) && oldest.Commit <= commit) _unsearchableCommits.Dequeue();
        Interlocked.Exchange(ref _oldestUnsearchableTimestamp, _unsearchableCommits.TryPeek(out var next) ? next.Timestamp : 0);
        // Lists showing a free-text search re-read now: the mail they were told of is searchable.
        foreach (var (organizationId, environmentId) in _awaitingSearch)
            _events.Publish(new MessagesSearchable(organizationId, environmentId));
        _awaitingSearch.Clear();
        lock (_searchLock)
        {
            _searchableThroughCommit = commit;
            _searchWaiters.RemoveAll(waiter =>
            {
                if (waiter.Commit > commit) return false;
                waiter.Searchable.TrySetResult();
                return true;
            });
        }
    }

    private async Task CommitAsync(List<PendingWrite> batch)
    {
        try
        {
            await _tables.WriteAsync([.. batch.Select(p => p.Message)]);
            var committed = Interlocked.Increment(ref _commitCount);
            var now = Stopwatch.GetTimestamp();
            if (_unsearchableCommits.Count == 0) Interlocked.Exchange(ref _oldestUnsearchableTimestamp, now);
            _unsearchableCommits.Enqueue((committed, now));
            Commits.Add(1);
            BatchSizes.Record(batch.Count);
            _unindexedSince ??= Stopwatch.GetTimestamp();
            Released(batch);
            foreach (var pending in batch) DeleteSealedFile(pending.Message);
        }
        catch (Exception batchError) when (batch.Count > 1)
        {
            // One bad message must not fail its neighbours: write them one by one.
            _logger.LogWarning(batchError, "An ingest batch of {Count} failed; writing its messages one by one.", batch.Count);
            foreach (var single in batch)
                await CommitAsync([single]);
        }
        catch (Exception error)
        {
            _logger.LogError(error, "Could not store message {MessageId}.", batch[0].Message.Summary.Id);
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
            _awaitingSearch.Add((summary.OrganizationId, summary.EnvironmentId));
        }
    }

    /// <summary>Stops taking messages; what is queued is still written by the running loop.</summary>
    public void Dispose() => _queue.Writer.TryComplete();

    /// <summary>Stops taking messages and waits until everything queued is written.</summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.CompareExchange(ref _measured, null, this);
        _queue.Writer.TryComplete();
        if (_loop.IsValueCreated) await _loop.Value;
        await _tables.DisposeAsync();
    }

    private sealed record PendingWrite(PreparedMessage Message, TaskCompletionSource Committed);
}
