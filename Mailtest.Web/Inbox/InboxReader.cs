using System.Text;
using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Preview;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Accounts;
using MimeKit;

namespace Mailtest.Web.Inbox;

/// <summary>One message as the preview shows it: summary, parsed parts, and the links its frame and downloads use.</summary>
public sealed record OpenedMessage(
    CapturedMessage Summary, InboxLinks Links, bool HasHtml, PlainTextView? Plain,
    IReadOnlyList<HeaderLine> Headers, IReadOnlyList<PreviewAttachment> Attachments, string RawText, bool RawTruncated)
{
    /// <summary>The Raw tab shows this much; the download has the rest.</summary>
    public const int RawDisplayLimit = 1024 * 1024;

    public static OpenedMessage From(CapturedMessage summary, byte[] raw, InboxLinks links)
    {
        using var stream = new MemoryStream(raw, writable: false);
        var mime = MimeMessage.Load(stream);
        var truncated = raw.Length > RawDisplayLimit;
        return new OpenedMessage(
            summary, links, mime.HtmlBody is not null, MessagePreviewRenderer.PlainText(mime),
            MessagePreviewRenderer.Headers(mime), MessagePreviewRenderer.Attachments(mime),
            Encoding.UTF8.GetString(raw, 0, truncated ? RawDisplayLimit : raw.Length), truncated);
    }
}

/// <summary>
/// The inbox's view of captured mail for the signed-in caller (scoped to the circuit). Every read goes
/// to the store with the environments AccessRules says the caller may view, so anything else looks
/// absent; message grants for the preview frame are minted here, after that check.
/// </summary>
public sealed class InboxReader(CurrentCaller currentCaller, AccessRules access, IMessageStore store, PreviewLinkSigner signer)
{
    private IReadOnlyList<ProjectEnvironment> _viewable = [];

    public IReadOnlyList<ProjectEnvironment> Viewable => _viewable;

    /// <summary>Loads the caller's viewable environments; false when nobody is signed in.</summary>
    public async Task<bool> LoadCallerAsync(CancellationToken cancellationToken = default)
    {
        if (await currentCaller.GetAsync() is not { } caller) return false;
        _viewable = await access.ViewableEnvironmentsAsync(caller, cancellationToken);
        return true;
    }

    public bool IsViewable(Guid environmentId) => _viewable.Any(e => e.Id == environmentId);

    /// <summary>The environments a query covers: the filter if the caller may view it, else all they may view.</summary>
    public IReadOnlyCollection<Guid> Scope(Guid? environmentFilter) =>
        environmentFilter is { } id && IsViewable(id) ? [id] : [.. _viewable.Select(e => e.Id)];

    public Task<MessagePage> ListAsync(Guid? environmentFilter, string? search, MessageCursor? after, int pageSize = 50, CancellationToken cancellationToken = default)
    {
        var scope = Scope(environmentFilter);
        return scope.Count == 0
            ? Task.FromResult(new MessagePage([], null))
            : store.ListAsync(new MessageListQuery(scope, string.IsNullOrWhiteSpace(search) ? null : search.Trim(), after, pageSize), cancellationToken);
    }

    public async Task<OpenedMessage?> OpenAsync(Guid messageId, CancellationToken cancellationToken = default)
    {
        var scope = Scope(null);
        if (scope.Count == 0 || await store.GetAsync(messageId, scope, cancellationToken) is not { } summary) return null;
        await using var raw = await store.OpenRawAsync(messageId, scope, cancellationToken);
        if (raw is null) return null;
        using var buffer = new MemoryStream();
        await raw.CopyToAsync(buffer, cancellationToken);
        return OpenedMessage.From(summary, buffer.ToArray(), new InboxLinks(signer.Grant(summary.Id, summary.EnvironmentId)));
    }

    public Task SetReadAsync(Guid messageId, bool isRead) => store.SetReadAsync(messageId, isRead, Scope(null));

    public Task MarkAllReadAsync(Guid? environmentFilter) => store.MarkAllReadAsync(Scope(environmentFilter));

    public Task<bool> DeleteAsync(Guid messageId) => store.DeleteAsync(messageId, Scope(null));
}
