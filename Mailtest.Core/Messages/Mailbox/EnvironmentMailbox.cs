using Mailtest.Core.Messages.Preview;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Messages.Mailbox;

/// <param name="Total">Messages in the environment.</param>
/// <param name="Unread">Unread messages in the environment.</param>
/// <param name="Matching">Messages matching the search (equals <paramref name="Total"/> without one).</param>
public sealed record MailboxPage(IReadOnlyList<MessageListItem> Items, MessageCursor? Next, int Total, int Unread, int Matching);

/// <summary>
/// One environment's captured mail as test code sees it: the service behind the messages API and
/// the Mailpit-compatible endpoints. Every method asks <see cref="AccessRules.RequireMailAsync"/>
/// first (the caller's current permissions, an environment token's scope), then reads or changes
/// only that environment's messages, so another environment's or organization's message looks absent.
/// </summary>
public sealed class EnvironmentMailbox(AccessRules access, IMessageStore store, MessagePreviews previews, MessageDeletion deletion, IDbContextFactory<MailtestDbContext> dbFactory)
{
    public const int DefaultPageSize = 50;

    /// <summary>Newest first, <paramref name="limit"/> at a time, continuing after <paramref name="after"/>.</summary>
    public async Task<MailboxPage> ListAsync(Caller caller, Guid environmentId, string? search, MessageCursor? after, int limit = DefaultPageSize, CancellationToken cancellationToken = default)
    {
        await access.RequireMailAsync(caller, environmentId, MailAccess.Read, cancellationToken);
        search = string.IsNullOrWhiteSpace(search) ? null : search.Trim();
        var page = await store.ListAsync(new MessageListQuery([environmentId], search, after, limit), cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var messages = db.Messages.Where(m => m.EnvironmentId == environmentId);
        var total = await messages.CountAsync(cancellationToken);
        var unread = await messages.CountAsync(m => !m.IsRead, cancellationToken);
        var matched = search is null ? null
            : await MessageSearchFilter.ApplyAsync(db, m => m.Where(x => x.EnvironmentId == environmentId), SearchQuery.Parse(search), cancellationToken);
        var matching = search is null ? total : matched is null ? 0 : await matched.CountAsync(cancellationToken);
        return new MailboxPage(page.Items, page.Next, total, unread, matching);
    }

    /// <summary>The summary with its attachment index; <c>latest</c> is the newest match of <paramref name="search"/>.</summary>
    public async Task<CapturedMessage> GetAsync(Caller caller, Guid environmentId, MessageRef message, string? search = null, CancellationToken cancellationToken = default)
    {
        await access.RequireMailAsync(caller, environmentId, MailAccess.Read, cancellationToken);
        var id = await ResolveAsync(environmentId, message, search, cancellationToken);
        return await store.GetAsync(id, [environmentId], cancellationToken) ?? throw NoSuchMessage();
    }

    /// <summary>The original .eml with its summary; the caller disposes the stream.</summary>
    public async Task<(CapturedMessage Summary, Stream Raw)> OpenRawAsync(Caller caller, Guid environmentId, MessageRef message, string? search = null, CancellationToken cancellationToken = default)
    {
        var summary = await GetAsync(caller, environmentId, message, search, cancellationToken);
        var raw = await store.OpenRawAsync(summary.Id, [environmentId], cancellationToken) ?? throw NoSuchMessage();
        return (summary, raw);
    }

    /// <summary>The message opened once for reading its parts, headers, text and HTML (see <see cref="MessagePreviews"/>).</summary>
    public async Task<OpenedMessage> OpenAsync(Caller caller, Guid environmentId, MessageRef message, string? search = null, CancellationToken cancellationToken = default)
    {
        var summary = await GetAsync(caller, environmentId, message, search, cancellationToken);
        return await previews.OpenAsync(summary.Id, [environmentId], cancellationToken) ?? throw NoSuchMessage();
    }

    public async Task DeleteAsync(Caller caller, Guid environmentId, MessageRef message, string? search = null, CancellationToken cancellationToken = default)
    {
        await access.RequireMailAsync(caller, environmentId, MailAccess.Change, cancellationToken);
        var id = await ResolveAsync(environmentId, message, search, cancellationToken);
        if (!await store.DeleteAsync(id, [environmentId], cancellationToken)) throw NoSuchMessage();
    }

    /// <summary>Deletes every message, or every match of <paramref name="search"/>, in batches with one audit entry; returns how many.</summary>
    public async Task<int> DeleteAllAsync(Caller caller, Guid environmentId, string? search = null, CancellationToken cancellationToken = default) =>
        (int)(await deletion.DeleteAsync(caller, environmentId, Blank(search), cancellationToken)).Messages;

    /// <summary>Marks the given messages read or unread; ids of other environments are ignored. Returns how many were found.</summary>
    public async Task<int> SetReadAsync(Caller caller, Guid environmentId, IReadOnlyCollection<Guid> messageIds, bool isRead, CancellationToken cancellationToken = default)
    {
        await access.RequireMailAsync(caller, environmentId, MailAccess.Change, cancellationToken);
        var ids = messageIds.Distinct().ToList();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var found = await db.Messages.Where(m => m.EnvironmentId == environmentId && ids.Contains(m.Id)).Select(m => m.Id).ToListAsync(cancellationToken);
        foreach (var id in found)
            await store.SetReadAsync(id, isRead, [environmentId], cancellationToken);
        return found.Count;
    }

    /// <summary>Marks every message, or every match of <paramref name="search"/>, read or unread. Returns how many matched.</summary>
    public async Task<int> SetReadMatchingAsync(Caller caller, Guid environmentId, string? search, bool isRead, CancellationToken cancellationToken = default)
    {
        await access.RequireMailAsync(caller, environmentId, MailAccess.Change, cancellationToken);
        var matched = 0;
        MessageCursor? after = null;
        do
        {
            var page = await store.ListAsync(new MessageListQuery([environmentId], Blank(search), after, BatchSize), cancellationToken);
            foreach (var item in page.Items)
            {
                matched++;
                if (item.IsRead != isRead) await store.SetReadAsync(item.Id, isRead, [environmentId], cancellationToken);
            }
            after = page.Next;
        } while (after is not null);
        return matched;
    }

    private const int BatchSize = 200;

    private async Task<Guid> ResolveAsync(Guid environmentId, MessageRef message, string? search, CancellationToken cancellationToken)
    {
        if (message.Id is { } id) return id;
        var newest = await store.ListAsync(new MessageListQuery([environmentId], Blank(search), null, 1), cancellationToken);
        return newest.Items.Count == 1 ? newest.Items[0].Id
            : throw new NotFoundException(Blank(search) is null ? "This environment has no messages yet." : "No message matches the search.");
    }

    private static string? Blank(string? search) => string.IsNullOrWhiteSpace(search) ? null : search.Trim();

    private static NotFoundException NoSuchMessage() => new("There is no such message in this environment.");
}
