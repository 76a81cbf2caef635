using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mailtest.Web.Mailpit;

// Mailpit's own JSON shapes (server/ui/api/v1/swagger.json, v1.30): PascalCase message fields,
// a snake_case list wrapper. Serialized with MailpitJson.Options, never the API's camelCase.

public static class MailpitJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = null,
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}

public sealed record MailpitAddress(string Name, string Address);

public sealed record MailpitListItem(
    string ID, string MessageID, bool Read, MailpitAddress? From, IReadOnlyList<MailpitAddress> To, IReadOnlyList<MailpitAddress> Cc,
    IReadOnlyList<MailpitAddress> Bcc, IReadOnlyList<MailpitAddress> ReplyTo, string Subject, DateTime Created, string Username,
    IReadOnlyList<string> Tags, long Size, int Attachments, string Snippet);

public sealed record MailpitMessagesSummary(
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("unread")] int Unread,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("messages_count")] int MessagesCount,
    [property: JsonPropertyName("messages_unread")] int MessagesUnread,
    [property: JsonPropertyName("start")] int Start,
    [property: JsonPropertyName("tags")] IReadOnlyList<string> Tags,
    [property: JsonPropertyName("messages")] IReadOnlyList<MailpitListItem> Messages);

public sealed record MailpitChecksums(string MD5, string SHA1, string SHA256);
public sealed record MailpitAttachment(string PartID, string FileName, string ContentType, string ContentID, long Size, MailpitChecksums Checksums);
public sealed record MailpitListUnsubscribe(string Header, IReadOnlyList<string> Links, string Errors, string HeaderPost);

public sealed record MailpitMessage(
    string ID, string MessageID, MailpitAddress? From, IReadOnlyList<MailpitAddress> To, IReadOnlyList<MailpitAddress> Cc,
    IReadOnlyList<MailpitAddress> Bcc, IReadOnlyList<MailpitAddress> ReplyTo, string ReturnPath, string Subject,
    MailpitListUnsubscribe ListUnsubscribe, DateTime Date, IReadOnlyList<string> Tags, string Username, string Text, string HTML,
    long Size, IReadOnlyList<MailpitAttachment> Inline, IReadOnlyList<MailpitAttachment> Attachments);

public sealed record MailpitRuntimeStats(long Uptime, long MessagesDeleted, long SMTPAccepted, long SMTPAcceptedSize, long SMTPRejected, long SMTPIgnored);
public sealed record MailpitInfo(string Version, string LatestVersion, string Database, long DatabaseSize, int Messages, int Unread,
    IReadOnlyDictionary<string, int> Tags, MailpitRuntimeStats RuntimeStats);

public sealed record MailpitRelay(bool Enabled, string SMTPServer, string ReturnPath, string AllowedRecipients, string BlockedRecipients,
    string OverrideFrom, bool PreserveMessageIDs, string RecipientAllowlist);
public sealed record MailpitWebUi(string Label, MailpitRelay MessageRelay, bool SpamAssassin, bool ChaosEnabled, bool DuplicatesIgnored, bool HideDeleteAllButton);

public sealed record MailpitChaosTrigger(int ErrorCode, int Probability);
public sealed record MailpitChaosTriggers(MailpitChaosTrigger? Authentication, MailpitChaosTrigger? Sender, MailpitChaosTrigger? Recipient);

// Requests.
public sealed record MailpitIdsRequest(IReadOnlyList<string>? IDs);
public sealed record MailpitSetTagsRequest(IReadOnlyList<string>? IDs, IReadOnlyList<string>? Tags);
public sealed record MailpitRenameTagRequest(string? Name);
public sealed record MailpitReadRequest(IReadOnlyList<string>? IDs, bool? Read, string? Search);
public sealed record MailpitSendAddress(string? Email, string? Name);
public sealed record MailpitSendAttachment(string? Content, string? Filename, string? ContentType, string? ContentID);
public sealed record MailpitSendRequest(
    MailpitSendAddress? From, IReadOnlyList<MailpitSendAddress>? To, IReadOnlyList<MailpitSendAddress>? Cc, IReadOnlyList<string>? Bcc,
    IReadOnlyList<MailpitSendAddress>? ReplyTo, string? Subject, string? Text, string? HTML, IReadOnlyList<MailpitSendAttachment>? Attachments,
    Dictionary<string, string>? Headers, IReadOnlyList<string>? Tags);
public sealed record MailpitSendResponse(string ID);
