using System.Diagnostics;
using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mailtest.Core.Messages;

/// <summary>What one deletion run removed.</summary>
public sealed record DeletedMessages(long Messages, long Bytes)
{
    public static readonly DeletedMessages None = new(0, 0);
    public DeletedMessages Plus(DeletedMessages other) => new(Messages + other.Messages, Bytes + other.Bytes);
}

/// <summary>
/// Deletes many messages at once: clearing an environment by hand (all, or all matching a search),
/// the API's bulk deletes, and the retention purge. Deletes in bounded batches, each its own short
/// transaction, so SMTP keeps being answered while a run removes 100,000 messages; each batch takes
/// the summary, sealed raw content, attachment index and search entry (cascade), tells open inboxes,
/// and keeps the organization's usage exact. A run writes one audit entry with its counts.
/// </summary>
public sealed class MessageDeletion(
    IDbContextFactory<MailtestDbContext> dbFactory,
    AccessRules access,
    AuditLog audit,
    MessageEvents events,
    OrganizationUsage usage,
    IOptions<RetentionOptions> options)
{
    /// <summary>A batch that removes at most this many messages of one environment names each of them live; more is a reload.</summary>
    private const int LiveDeletesPerEnvironment = 50;

    /// <summary>How many messages <see cref="DeleteAsync"/> would delete now: the confirmation's number.</summary>
    public async Task<long> CountAsync(Caller caller, Guid environmentId, string? search, CancellationToken cancellationToken = default)
    {
        await access.RequireMailAsync(caller, environmentId, MailAccess.Read, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await (await MatchingAsync(db, environmentId, search, cancellationToken)).LongCountAsync(cancellationToken);
    }

    /// <summary>
    /// Deletes every message of the environment, or every one matching <paramref name="search"/> (the
    /// inbox's search syntax). Needs what deleting one message needs (<see cref="AccessRules.RequireMailAsync"/>:
    /// <c>project.mailtest.view</c>, or a read-write token of the environment).
    /// </summary>
    public async Task<DeletedMessages> DeleteAsync(Caller caller, Guid environmentId, string? search, CancellationToken cancellationToken = default)
    {
        var environment = await access.RequireMailAsync(caller, environmentId, MailAccess.Change, cancellationToken);
        var deleted = await DeleteInBatchesAsync(async (db, ct) =>
            await (await MatchingAsync(db, environmentId, search, ct))
                .OrderBy(m => m.ReceivedUtc).ThenBy(m => m.Id)
                .Select(m => m.Id).Take(options.Value.BatchSize).ToListAsync(ct), cancellationToken);
        var what = string.IsNullOrWhiteSpace(search) ? "all messages" : $"messages matching \"{search.Trim()}\"";
        await audit.RecordAsync(caller, AuditActions.MessagesClear, environment.Project!.OrganizationId, environmentId,
            $"{environment.Name}: {what}: {deleted.Messages} deleted ({deleted.Bytes} bytes)", cancellationToken);
        return deleted;
    }

    /// <summary>
    /// Deletes what <paramref name="nextBatch"/> names, batch after batch, until it names nothing
    /// (it is asked again after each batch, so it sees what the previous one removed). Only rows this
    /// run actually removed are counted and announced: two runs over the same messages add up exactly.
    /// No audit entry: the caller writes one for its whole run.
    /// </summary>
    public async Task<DeletedMessages> DeleteInBatchesAsync(
        Func<MailtestDbContext, CancellationToken, Task<List<Guid>>> nextBatch, CancellationToken cancellationToken = default)
    {
        var total = DeletedMessages.None;
        while (true)
        {
            List<DeletedRow> removed;
            var batch = Stopwatch.StartNew();
            await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            {
                var ids = await nextBatch(db, cancellationToken);
                if (ids.Count == 0) return total;
                removed = await DeleteAsync(db, ids, cancellationToken);
            }
            total = total.Plus(new DeletedMessages(removed.Count, removed.Sum(r => r.Size)));
            Announce(removed);
            // Leave the write lock to the ingest writer for a while (real time: this paces the disk, not the business clock).
            await Task.Delay(batch.Elapsed * options.Value.BatchPauseRatio, cancellationToken);
        }
    }

    private static async Task<IQueryable<CapturedMessage>> MatchingAsync(MailtestDbContext db, Guid environmentId, string? search, CancellationToken cancellationToken)
    {
        IQueryable<CapturedMessage> InEnvironment(IQueryable<CapturedMessage> messages) => messages.Where(m => m.EnvironmentId == environmentId);
        if (string.IsNullOrWhiteSpace(search)) return InEnvironment(db.Messages.AsNoTracking());
        // Null: a word the index finds nowhere, so nothing matches.
        return await MessageSearchFilter.ApplyAsync(db, [environmentId], null, SearchQuery.Parse(search), cancellationToken)
            ?? db.Messages.AsNoTracking().Where(m => false);
    }

    /// <summary>One statement: the content, attachment index and search entry go by ON DELETE CASCADE (on SQLite a trigger clears the FTS row).</summary>
    private static Task<List<DeletedRow>> DeleteAsync(MailtestDbContext db, List<Guid> ids, CancellationToken cancellationToken)
    {
        // Only numbered placeholders go into the text; the ids travel as parameters.
        var placeholders = string.Join(", ", ids.Select((_, i) => "{" + i + "}"));
        var sql = "DELETE FROM \"Messages\" WHERE \"Id\" IN (" + placeholders + ") RETURNING \"Id\", \"OrganizationId\", \"EnvironmentId\", \"Size\"";
        return db.Database.SqlQueryRaw<DeletedRow>(sql, ids.Cast<object>().ToArray()).ToListAsync(cancellationToken);
    }

    private void Announce(List<DeletedRow> removed)
    {
        foreach (var organization in removed.Select(r => r.OrganizationId).Distinct())
            usage.Invalidate(organization);
        foreach (var environment in removed.GroupBy(r => (r.OrganizationId, r.EnvironmentId)))
        {
            if (environment.Count() > LiveDeletesPerEnvironment)
                events.Publish(new MessagesChanged(environment.Key.OrganizationId, environment.Key.EnvironmentId));
            else
                foreach (var row in environment)
                    events.Publish(new MessageDeleted(row.OrganizationId, row.EnvironmentId, row.Id));
        }
    }

    private sealed class DeletedRow
    {
        public Guid Id { get; set; }
        public Guid OrganizationId { get; set; }
        public Guid EnvironmentId { get; set; }
        public long Size { get; set; }
    }
}
