namespace Mailtest.Core.Messages;

/// <summary>Newest first: a page continues after (ReceivedUtc, Id) of the last item of the previous page.</summary>
public sealed record MessageCursor(DateTime ReceivedUtc, Guid Id);

/// <param name="EnvironmentIds">The environments to list; callers pass only those the caller may view (see AccessRules).</param>
/// <param name="Search">The search box: words, "quoted phrases", from: to: subject: tag: is:unread is:read has:attachment before: after:, and - negation.</param>
public sealed record MessageListQuery(IReadOnlyCollection<Guid> EnvironmentIds, string? Search = null, MessageCursor? After = null, int PageSize = 50);

/// <param name="StoredTags">The summary's tags column as stored (a query can select it anywhere); read <see cref="Tags"/>.</param>
public sealed record MessageListItem(
    Guid Id, Guid EnvironmentId, DateTime ReceivedUtc, string EnvelopeFrom, string EnvelopeTo,
    string? From, string? To, string? Subject, int AttachmentCount, bool IsRead, long Size,
    [property: System.Text.Json.Serialization.JsonIgnore] string? StoredTags)
{
    public IReadOnlyList<string> Tags => MessageTags.Split(StoredTags);
}

public sealed record MessagePage(IReadOnlyList<MessageListItem> Items, MessageCursor? Next);

/// <summary>
/// Reads and changes captured mail. It does not check permissions: callers first ask AccessRules
/// which environments the caller may view, and pass only those (every method takes them).
/// </summary>
public interface IMessageStore
{
    Task<MessagePage> ListAsync(MessageListQuery query, CancellationToken cancellationToken = default);

    /// <summary>The summary with its attachment index, or null if it is not in one of <paramref name="environmentIds"/>.</summary>
    Task<CapturedMessage?> GetAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default);

    /// <summary>The original .eml, decrypted and decompressed; null if it is not in one of <paramref name="environmentIds"/>.</summary>
    Task<Stream?> OpenRawAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default);

    Task SetReadAsync(Guid messageId, bool isRead, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default);

    Task MarkAllReadAsync(IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default);

    /// <summary>Deletes the message and publishes <see cref="MessageDeleted"/>.</summary>
    Task<bool> DeleteAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default);

    Task<int> CountAsync(Guid environmentId, CancellationToken cancellationToken = default);
}
