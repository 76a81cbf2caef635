namespace Mailtest.Core.Messages.Preview;

/// <summary>
/// The site-relative URLs of one message's preview resources, each carrying the message grant.
/// The web endpoints are mapped on the same templates (see Mailtest.Web/Inbox).
/// </summary>
public sealed class InboxLinks(MessageGrant grant)
{
    public const string MessagesPrefix = "/inbox/messages";

    public MessageGrant Grant => grant;
    private string Base => $"{MessagesPrefix}/{grant.MessageId:N}";
    private string Token => Uri.EscapeDataString(grant.Token);

    public string HtmlDocument(bool blockRemoteImages) => $"{Base}/html?t={Token}{(blockRemoteImages ? "&remote=blocked" : "")}";
    public string ContentIdPart(string contentId) => $"{Base}/cid/{Uri.EscapeDataString(contentId)}?t={Token}";
    public string Part(string partPath) => $"{Base}/parts/{partPath}?t={Token}";
    public string Raw => $"{Base}/raw?t={Token}";
}
