using Mailtest.Core.Messages.Preview;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Messages.Mailbox;

/// <param name="Total">Messages in the environment.</param>
/// <param name="Unread">Unread messages in the environment.</param>
/// <param name="Matching">Messages matching the search (equals <paramref name="Total"/> without one).</param>
/// <summary>A tag in use in the environment and how many messages carry it.</summary>
public sealed record EnvironmentTag(string Name, int Messages);

public sealed record MailboxPage(IReadOnlyList<MessageListItem> Items, MessageCursor? Next, int Total, int Unread, int Matching);

/// <summary>
/// One environment's captured mail as test code sees it: the service behind the messages API and
/// the Mailpit-compatible endpoints. Every method asks <see cref="AccessRules.RequireMailAsync"/>
/// first (the caller's current permissions, an environment token's scope), then reads or changes
/// only that environment's messages, so another environment's or organization's message looks absent.
/// </summary>
public sealed class EnvironmentMailbox(AccessRules access, IMessageStore store, MessagePreviews previews, MessageDeletion deletion, IDbContextFactory<MailtestDbContext> dbFactory, MessageEvents events)
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
            : await MessageSearchFilter.ApplyAsync(db, [environmentId], null, SearchQuery.Parse(search), cancellationToken);
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
        return await previews.OpenAsync(summary, cancellationToken) ?? throw NoSuchMessage(); // the summary GetAsync just read: no second query
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
        // Newest first, like SetReadMatchingAsync's pages: each change is an event, and a waiter for is:read is
        // answered by the first that matches (MessageWaiter), so by the newest, as with tags.
        var found = await db.Messages.Where(m => m.EnvironmentId == environmentId && ids.Contains(m.Id))
            .OrderByDescending(m => m.ReceivedUtc).ThenByDescending(m => m.Id).Select(m => m.Id).ToListAsync(cancellationToken);
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

    /// <summary>The tags the environment's messages carry (see <see cref="MessageTags"/>), sorted, with how many messages carry each.</summary>
    public async Task<IReadOnlyList<EnvironmentTag>> ListTagsAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        await access.RequireMailAsync(caller, environmentId, MailAccess.Read, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        // Messages share few tag sets: group by the stored set, then count each tag of it.
        var sets = await db.Messages.Where(m => m.EnvironmentId == environmentId && m.Tags != null)
            .GroupBy(m => m.Tags).Select(g => new { Tags = g.Key, Messages = g.Count() }).ToListAsync(cancellationToken);
        return [.. sets.SelectMany(set => MessageTags.Split(set.Tags).Select(tag => (Tag: tag, set.Messages)))
            .GroupBy(t => t.Tag, StringComparer.OrdinalIgnoreCase)
            .Select(g => new EnvironmentTag(g.First().Tag, g.Sum(t => t.Messages)))
            .OrderBy(t => t.Name, StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>
    /// Replaces the tags of the given messages with <paramref name="tags"/> (cleaned; none removes them
    /// all), as Mailpit's PUT /api/v1/tags does; ids of other environments are ignored. Returns how many were found.
    /// </summary>
    public async Task<int> SetTagsAsync(Caller caller, Guid environmentId, IReadOnlyCollection<Guid> messageIds, IEnumerable<string> tags, CancellationToken cancellationToken = default)
    {
        await access.RequireMailAsync(caller, environmentId, MailAccess.Change, cancellationToken);
        var stored = MessageTags.Join(MessageTags.Normalize(tags));
        var ids = messageIds.Distinct().ToList();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var found = await db.Messages.Where(m => m.EnvironmentId == environmentId && ids.Contains(m.Id)).Select(m => m.Id).ToListAsync(cancellationToken);
        await db.Messages.Where(m => m.EnvironmentId == environmentId && found.Contains(m.Id))
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Tags, stored), cancellationToken);
        if (found.Count > 0) await PublishTaggedAsync(db, environmentId, found, cancellationToken);
        return found.Count;
    }

    /// <summary>Renames <paramref name="tag"/> on every message of the environment that has it (merging into <paramref name="newName"/> where both are set).</summary>
    public async Task<int> RenameTagAsync(Caller caller, Guid environmentId, string tag, string newName, CancellationToken cancellationToken = default)
    {
        await access.RequireMailAsync(caller, environmentId, MailAccess.Change, cancellationToken);
        tag = MessageTags.Clean(tag);
        var renamed = MessageTags.Clean(newName);
        if (renamed.Length == 0)
            throw new TenancyException("Give the tag a new name of letters, digits, spaces, '-', '_' or '.': {\"Name\": \"new name\"}.");
        var changed = await RewriteTagAsync(environmentId, tag, tags => tags.Select(t => t.Equals(tag, StringComparison.OrdinalIgnoreCase) ? renamed : t), cancellationToken);
        return changed > 0 ? changed : throw new NotFoundException($"No message of this environment has the tag \"{tag}\".");
    }

    /// <summary>Removes <paramref name="tag"/> from every message of the environment (the messages stay); returns how many had it.</summary>
    public async Task<int> DeleteTagAsync(Caller caller, Guid environmentId, string tag, CancellationToken cancellationToken = default)
    {
        await access.RequireMailAsync(caller, environmentId, MailAccess.Change, cancellationToken);
        tag = MessageTags.Clean(tag);
        return await RewriteTagAsync(environmentId, tag, tags => tags.Where(t => !t.Equals(tag, StringComparison.OrdinalIgnoreCase)), cancellationToken);
    }

    /// <summary>Rewrites the tags of the messages that have <paramref name="tag"/> (cleaned), one UPDATE per resulting tag set.</summary>
    private async Task<int> RewriteTagAsync(Guid environmentId, string tag, Func<IEnumerable<string>, IEnumerable<string>> rewrite, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var tagged = await db.Messages.Where(m => m.EnvironmentId == environmentId).Where(MessageSearchFilter.HasTag(tag, db.IsSqlite))
            .Select(m => new { m.Id, m.Tags }).ToListAsync(cancellationToken);
        foreach (var set in tagged.GroupBy(m => MessageTags.Join(MessageTags.Normalize(rewrite(MessageTags.Split(m.Tags))))))
        {
            var ids = set.Select(m => m.Id).ToList();
            await db.Messages.Where(m => m.EnvironmentId == environmentId && ids.Contains(m.Id))
                .ExecuteUpdateAsync(s => s.SetProperty(m => m.Tags, set.Key), cancellationToken);
        }
        if (tagged.Count > 0) await PublishTaggedAsync(db, environmentId, [.. tagged.Select(m => m.Id)], cancellationToken);
        return tagged.Count;
    }

    /// <summary>
    /// Open lists read again what they show (a list showing a tag: search must drop or gain rows), and
    /// waiters look at the retagged messages: one may match their search now (<see cref="MessageWaiter"/>).
    /// </summary>
    private async Task PublishTaggedAsync(MailtestDbContext db, Guid environmentId, IReadOnlyList<Guid> messageIds, CancellationToken cancellationToken)
    {
        var organizationId = await db.Messages.Where(m => m.EnvironmentId == environmentId).Select(m => m.OrganizationId).FirstOrDefaultAsync(cancellationToken);
        if (organizationId != Guid.Empty) events.Publish(new MessagesTagged(organizationId, environmentId, messageIds));
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
