using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Preview;
using MimeKit;

namespace Mailtest.Tests.Inbox;

/// <summary>
/// A stand-in for the message store in component tests: keeps raw messages in memory, pages newest
/// first by (ReceivedUtc, Id), matches a search as a plain case-insensitive substring, and publishes
/// the same events as the real store.
/// </summary>
public sealed class InMemoryMessageStore(MessageEvents events) : IMessageStore
{
    private readonly Lock _gate = new();
    private readonly List<(CapturedMessage Summary, byte[] Raw, string Body)> _messages = [];

    public CapturedMessage Add(Guid organizationId, Guid environmentId, MimeMessage message, DateTime? receivedUtc = null, string? envelopeTo = null)
    {
        using var buffer = new MemoryStream();
        message.WriteTo(buffer);
        var summary = new CapturedMessage
        {
            OrganizationId = organizationId, EnvironmentId = environmentId, ReceivedUtc = receivedUtc ?? DateTime.UtcNow,
            EnvelopeFrom = message.From.Mailboxes.FirstOrDefault()?.Address ?? "",
            EnvelopeTo = envelopeTo ?? string.Join(",", message.To.Mailboxes.Select(m => m.Address)),
            From = message.From.ToString(), To = message.To.ToString(), Subject = message.Subject,
            MessageIdHeader = message.MessageId, Size = buffer.Length,
            AttachmentCount = MessageParts.Attachments(message).Count(p => p.IsAttachment),
        };
        lock (_gate) _messages.Add((summary, buffer.ToArray(), (message.TextBody ?? message.HtmlBody ?? "")));
        events.Publish(new MessageCaptured(organizationId, environmentId, summary.Id));
        return summary;
    }

    public Task<MessagePage> ListAsync(MessageListQuery query, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var matching = _messages
                .Where(m => query.EnvironmentIds.Contains(m.Summary.EnvironmentId))
                .Where(m => string.IsNullOrWhiteSpace(query.Search) || Matches(m, query.Search))
                .Select(m => m.Summary)
                .OrderByDescending(s => s.ReceivedUtc).ThenByDescending(s => s.Id)
                .Where(s => query.After is null || s.ReceivedUtc < query.After.ReceivedUtc || (s.ReceivedUtc == query.After.ReceivedUtc && s.Id.CompareTo(query.After.Id) < 0))
                .Take(query.PageSize + 1)
                .Select(s => new MessageListItem(s.Id, s.EnvironmentId, s.ReceivedUtc, s.EnvelopeFrom, s.EnvelopeTo, s.From, s.To, s.Subject, s.AttachmentCount, s.IsRead, s.Size))
                .ToList();
            var next = matching.Count > query.PageSize ? new MessageCursor(matching[query.PageSize - 1].ReceivedUtc, matching[query.PageSize - 1].Id) : null;
            return Task.FromResult(new MessagePage(matching.Take(query.PageSize).ToList(), next));
        }
    }

    private static bool Matches((CapturedMessage Summary, byte[] Raw, string Body) m, string search) =>
        new[] { m.Summary.Subject, m.Summary.From, m.Summary.To, m.Summary.EnvelopeTo, m.Body }
            .Any(field => field?.Contains(search.Trim(), StringComparison.OrdinalIgnoreCase) == true);

    public Task<CapturedMessage?> GetAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult(Find(messageId, environmentIds)?.Summary);
    }

    public Task<Stream?> OpenRawAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult<Stream?>(Find(messageId, environmentIds) is { } m ? new MemoryStream(m.Raw, writable: false) : null);
    }

    public Task SetReadAsync(Guid messageId, bool isRead, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default)
    {
        lock (_gate) if (Find(messageId, environmentIds) is { } m) m.Summary.IsRead = isRead;
        return Task.CompletedTask;
    }

    public Task MarkAllReadAsync(IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default)
    {
        lock (_gate) foreach (var m in _messages.Where(m => environmentIds.Contains(m.Summary.EnvironmentId))) m.Summary.IsRead = true;
        return Task.CompletedTask;
    }

    public Task<bool> DeleteAsync(Guid messageId, IReadOnlyCollection<Guid> environmentIds, CancellationToken cancellationToken = default)
    {
        CapturedMessage? removed;
        lock (_gate)
        {
            removed = Find(messageId, environmentIds)?.Summary;
            if (removed is not null) _messages.RemoveAll(m => m.Summary.Id == messageId);
        }
        if (removed is not null) events.Publish(new MessageDeleted(removed.OrganizationId, removed.EnvironmentId, messageId));
        return Task.FromResult(removed is not null);
    }

    public Task<int> CountAsync(Guid environmentId, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult(_messages.Count(m => m.Summary.EnvironmentId == environmentId));
    }

    private (CapturedMessage Summary, byte[] Raw, string Body)? Find(Guid id, IReadOnlyCollection<Guid> environmentIds) =>
        _messages.Where(m => m.Summary.Id == id && environmentIds.Contains(m.Summary.EnvironmentId)).Select(m => ((CapturedMessage, byte[], string)?)m).FirstOrDefault();
}
