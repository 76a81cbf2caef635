using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Preview;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Accounts;

namespace Mailtest.Web.Inbox;

/// <summary>
/// The inbox's view of captured mail for the signed-in caller (scoped to the circuit). Every read goes
/// to the store with the environments the caller may view right now (<see cref="CurrentAccess"/>, not
/// what they could view when the page opened), so anything else looks absent; message grants for the
/// preview frame are minted here, after that check, in the caller's name.
/// </summary>
public sealed class InboxReader(CurrentCaller currentCaller, AccessRules access, CurrentAccess currentAccess, IMessageStore store, MessagePreviews previews, PreviewLinkSigner signer)
{
    private IReadOnlyList<ProjectEnvironment> _viewable = [];
    private Caller? _caller;

    /// <summary>The environments as the page last loaded them (names for the selector and the list).</summary>
    public IReadOnlyList<ProjectEnvironment> Viewable => _viewable;

    public Guid? UserId => _caller?.UserId;

    /// <summary>Loads the caller's viewable environments; false when nobody is signed in.</summary>
    public async Task<bool> LoadCallerAsync(CancellationToken cancellationToken = default)
    {
        if (await currentCaller.GetAsync() is not { } caller) return false;
        _caller = caller;
        var now = await currentAccess.ForUserAsync(caller.UserId, cancellationToken);
        _viewable = [.. (await access.ViewableEnvironmentsAsync(caller, cancellationToken)).Where(e => now.MayRead(e.Id))];
        return true;
    }

    /// <summary>May the caller read this environment's mail now (a live event, a message about to open)?</summary>
    public async ValueTask<bool> MayReadAsync(Guid environmentId, CancellationToken cancellationToken = default) =>
        _caller is { } caller && await currentAccess.MayReadAsync(caller.UserId, environmentId, cancellationToken);

    /// <summary>The environments a query covers, checked now: the filter if the caller may view it, else all they may view.</summary>
    public async ValueTask<IReadOnlyCollection<Guid>> ScopeAsync(Guid? environmentFilter, CancellationToken cancellationToken = default)
    {
        if (_caller is not { } caller) return [];
        var now = await currentAccess.ForUserAsync(caller.UserId, cancellationToken);
        return environmentFilter is { } id && now.MayRead(id) ? [id] : [.. now.ViewableEnvironmentIds];
    }

    public async Task<MessagePage> ListAsync(Guid? environmentFilter, string? search, MessageCursor? after, int pageSize = 50, CancellationToken cancellationToken = default)
    {
        var scope = await ScopeAsync(environmentFilter, cancellationToken);
        return scope.Count == 0
            ? new MessagePage([], null)
            : await store.ListAsync(new MessageListQuery(scope, string.IsNullOrWhiteSpace(search) ? null : search.Trim(), after, pageSize), cancellationToken);
    }

    public async Task<OpenedMessage?> OpenAsync(Guid messageId, CancellationToken cancellationToken = default)
    {
        var scope = await ScopeAsync(null, cancellationToken);
        return scope.Count == 0 ? null : await previews.OpenAsync(messageId, scope, cancellationToken);
    }

    /// <summary>The signed links the preview frame and downloads use, in the caller's name; minted only for a message the caller could open.</summary>
    public InboxLinks LinksFor(OpenedMessage message) =>
        new(signer.Grant(message.Summary.Id, message.Summary.EnvironmentId, _caller?.UserId ?? throw new InvalidOperationException("Nobody is signed in.")));

    public async Task SetReadAsync(Guid messageId, bool isRead) => await store.SetReadAsync(messageId, isRead, await ScopeAsync(null));

    public async Task MarkAllReadAsync(Guid? environmentFilter) => await store.MarkAllReadAsync(await ScopeAsync(environmentFilter));

    public async Task<bool> DeleteAsync(Guid messageId) => await store.DeleteAsync(messageId, await ScopeAsync(null));
}
