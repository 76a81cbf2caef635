using System.Threading.Channels;
using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Messages;

/// <summary>A parsed, sealed message ready to be written in one of the writer's transactions.</summary>
public sealed record PreparedMessage(CapturedMessage Summary, MessageContent Content, MessageSearchEntry Search);

/// <summary>
/// The one writer of captured mail. Concurrent SMTP sessions queue their messages on a channel; a
/// single loop drains whatever is waiting into one transaction, so many sessions share each commit
/// and SQLite's single writer is never fought over. Each caller is released only after the commit
/// that holds its message (then, and only then, may SMTP answer 250).
/// </summary>
public sealed class IngestWriter : IAsyncDisposable, IDisposable
{
    /// <summary>At most this many messages, or this many sealed bytes, per transaction.</summary>
    private const int MaxBatchMessages = 100;
    private const long MaxBatchBytes = 32L * 1024 * 1024;

    private readonly IDbContextFactory<MailtestDbContext> _dbFactory;
    private readonly MessageEvents _events;
    private readonly OrganizationUsage _usage;
    private readonly ILogger<IngestWriter> _logger;
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lazy<Task> _drain;

    public IngestWriter(IDbContextFactory<MailtestDbContext> dbFactory, MessageEvents events, OrganizationUsage usage, ILogger<IngestWriter> logger)
    {
        _dbFactory = dbFactory;
        _events = events;
        _usage = usage;
        _logger = logger;
        // Started on first use, so any service provider that resolves the writer can ingest.
        _drain = new Lazy<Task>(() => Task.Run(DrainAsync), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Number of transactions committed so far (for tests and diagnostics).</summary>
    public long CommitCount => Interlocked.Read(ref _commitCount);
    private long _commitCount;

    /// <summary>Completes when the transaction holding <paramref name="message"/> has committed.</summary>
    /// <remarks>Cancelling stops the wait, not the write: a queued message is still stored.</remarks>
    public Task WriteAsync(PreparedMessage message, CancellationToken cancellationToken = default)
    {
        var pending = new PendingWrite(message, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
            throw new InvalidOperationException("The ingest writer has stopped.");
        _ = _drain.Value;
        return pending.Committed.Task.WaitAsync(cancellationToken);
    }

    private async Task DrainAsync()
    {
        var batch = new List<PendingWrite>(MaxBatchMessages);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            long bytes = 0;
            while (batch.Count < MaxBatchMessages && bytes < MaxBatchBytes && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
                bytes += next.Message.Content.Sealed.Length;
            }
            await CommitAsync(batch);
        }
    }

    private async Task CommitAsync(List<PendingWrite> batch)
    {
        try
        {
            await SaveAsync(batch);
            Released(batch);
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
        }
    }

    private async Task SaveAsync(List<PendingWrite> batch)
    {
        await using var db = await _dbFactory.CreateDbContextAsync();
        foreach (var pending in batch)
        {
            // A retry after a failed batch must not reuse keys handed out inside the rolled-back transaction.
            foreach (var attachment in pending.Message.Summary.Attachments) attachment.Id = 0;
            pending.Message.Search.Id = 0;
            db.Messages.Add(pending.Message.Summary);
            db.MessageContents.Add(pending.Message.Content);
            db.MessageSearchEntries.Add(pending.Message.Search);
        }
        await db.SaveChangesAsync();
        Interlocked.Increment(ref _commitCount);
    }

    private void Released(List<PendingWrite> batch)
    {
        foreach (var pending in batch)
        {
            var summary = pending.Message.Summary;
            _usage.Added(summary.OrganizationId, summary.Size);
            pending.Committed.TrySetResult();
            _events.Publish(new MessageCaptured(summary.OrganizationId, summary.EnvironmentId, summary.Id));
        }
    }

    /// <summary>Stops taking messages; what is queued is still written by the running loop.</summary>
    public void Dispose() => _queue.Writer.TryComplete();

    /// <summary>Stops taking messages and waits until everything queued is written.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_drain.IsValueCreated) await _drain.Value;
    }

    private sealed record PendingWrite(PreparedMessage Message, TaskCompletionSource Committed);
}
