using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Messages;

/// <summary>
/// <see cref="IMessageStore"/> over the database: summaries paged by keyset (newest first), the raw
/// message opened only on demand, and every read confined to the environments the caller passes.
/// </summary>
public sealed class MessageStore(IDbContextFactory<MailtestDbContext> dbFactory, RawMessageSeal seal, MessageEvents events, OrganizationUsage usage) : IMessageStore
{
    public const int MaxPageSize = 500;

    public async Task<MessagePage> ListAsync(MessageListQuery query, CancellationToken cancellationToken = default)
    {
        if (query.EnvironmentIds.Count == 0) return new MessagePage([], null);
        var pageSize = Math.Clamp(query.PageSize, 1, MaxPageSize);
        var environmentIds = query.EnvironmentIds.ToList();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);

        Func<IQueryable<CapturedMessage>, IQueryable<CapturedMessage>>? afterCursor = query.After is { } after
            ? messages => messages.Where(m => m.ReceivedUtc < after.ReceivedUtc || (m.ReceivedUtc == after.ReceivedUtc && m.Id.CompareTo(after.Id) < 0))
            : null;
        var messages = await MessageSearchFilter.ApplyAsync(db, environmentIds, afterCursor, SearchQuery.Parse(query.Search), cancellationToken);
        if (messages is null) return new MessagePage([], null);

        var items = await messages
            .OrderByDescending(m => m.ReceivedUtc).ThenByDescending(m => m.Id)
            .Take(pageSize + 1)
            .Select(m => new MessageListItem(m.Id, m.EnvironmentId, m.ReceivedUtc, m.EnvelopeFrom, m.EnvelopeTo,
                m.From, m.To, m.Subject, m.AttachmentCount, m.IsRead, m.Size, m.Tags))
            .ToListAsync(cancellationToken);
        if (items.Count <= pageSize) return new MessagePage(items, null);
        items.RemoveAt(pageSize);
        var last = items[^1];
        return new MessagePage(items, new MessageCursor(last.ReceivedUtc, last.Id));
    }

    public async Task<CapturedMessage?> GetAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default)
    {
        var allowed = environmentIds.ToList();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Messages.AsNoTracking().Include(m => m.Attachments)
            .SingleOrDefaultAsync(m => m.Id == messageId && allowed.Contains(m.EnvironmentId), cancellationToken);
    }

    public async Task<Stream?> OpenRawAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default)
    {
        var allowed = environmentIds.ToList();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Messages.AnyAsync(m => m.Id == messageId && allowed.Contains(m.EnvironmentId), cancellationToken)) return null;
        // Streamed: read from the database, decrypted and decompressed chunk by chunk as the caller reads.
        var sealedContent = await SealedContentReader.OpenAsync(db, messageId, cancellationToken);
        return sealedContent is null ? null : await seal.OpenAsync(sealedContent, messageId, cancellationToken);
    }

    public async Task SetReadAsync(Guid messageId, bool isRead, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default)
    {
        var allowed = environmentIds.ToList();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var owner = await OwnerAsync(db, messageId, allowed, cancellationToken);
        if (owner is null) return;
        var changed = await db.Messages.Where(m => m.Id == messageId && m.IsRead != isRead)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.IsRead, isRead), cancellationToken);
        if (changed > 0) events.Publish(new MessageReadChanged(owner.OrganizationId, owner.EnvironmentId, messageId, isRead));
    }

    public async Task MarkAllReadAsync(IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default)
    {
        var allowed = environmentIds.ToList();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var touched = await db.Messages.Where(m => allowed.Contains(m.EnvironmentId) && !m.IsRead)
            .Select(m => new { m.OrganizationId, m.EnvironmentId }).Distinct().ToListAsync(cancellationToken);
        await db.Messages.Where(m => allowed.Contains(m.EnvironmentId) && !m.IsRead)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.IsRead, true), cancellationToken);
        foreach (var environment in touched)
            events.Publish(new MessagesMarkedRead(environment.OrganizationId, environment.EnvironmentId));
    }

    public async Task<bool> DeleteAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default)
    {
        var allowed = environmentIds.ToList();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var owner = await OwnerAsync(db, messageId, allowed, cancellationToken);
        if (owner is null) return false;
        // The content, attachment index and search entry go with it (ON DELETE CASCADE; on SQLite a
        // trigger removes the FTS row).
        var deleted = await db.Messages.Where(m => m.Id == messageId).ExecuteDeleteAsync(cancellationToken);
        if (deleted == 0) return false;
        usage.Invalidate(owner.OrganizationId);
        events.Publish(new MessageDeleted(owner.OrganizationId, owner.EnvironmentId, messageId));
        return true;
    }

    public async Task<int> CountAsync(Guid environmentId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Messages.CountAsync(m => m.EnvironmentId == environmentId, cancellationToken);
    }

    private static Task<Owner?> OwnerAsync(MailtestDbContext db, Guid messageId, List<Guid> allowed, CancellationToken cancellationToken) =>
        db.Messages.Where(m => m.Id == messageId && allowed.Contains(m.EnvironmentId))
            .Select(m => new Owner(m.OrganizationId, m.EnvironmentId))
            .SingleOrDefaultAsync(cancellationToken);

    private sealed record Owner(Guid OrganizationId, Guid EnvironmentId);
}
