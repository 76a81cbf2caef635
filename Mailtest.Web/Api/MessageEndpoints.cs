using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Mailbox;
using Mailtest.Core.Messages.Preview;
using Mailtest.Core.Tenancy;
using Microsoft.AspNetCore.Mvc;

namespace Mailtest.Web.Api;

public sealed record EnvelopeView(string From, IReadOnlyList<string> To);
public sealed record MessageSummaryView(
    Guid Id, Guid EnvironmentId, DateTime ReceivedUtc, EnvelopeView Envelope, string? From, string? To, string? Subject,
    int AttachmentCount, bool IsRead, long Size);
public sealed record MessageListResponse(int Total, int Unread, int Matching, IReadOnlyList<MessageSummaryView> Messages, string? NextCursor);
public sealed record AttachmentView(string PartId, string FileName, string ContentType, long Size, string? ContentId, bool Inline);
public sealed record MessageDetailView(
    Guid Id, Guid EnvironmentId, DateTime ReceivedUtc, EnvelopeView Envelope, string? From, string? To, string? Cc, string? ReplyTo,
    string? Subject, string? MessageId, long Size, bool IsRead, IReadOnlyList<HeaderLine> Headers, string? Text, string? Html,
    IReadOnlyList<AttachmentView> Attachments);
public sealed record SetReadRequest(IReadOnlyList<Guid>? Ids, string? Query, bool? Read);
public sealed record ChangedResponse(int Count);
public sealed record InjectAddress(string? Email, string? Name);
public sealed record InjectAttachment(string? FileName, string? ContentType, string? Content, string? ContentId);
/// <summary>A message to add, field by field (Mailpit's send shape in camelCase); attachment content is base64.</summary>
public sealed record InjectRequest(
    InjectAddress? From, IReadOnlyList<InjectAddress>? To, IReadOnlyList<InjectAddress>? Cc, IReadOnlyList<InjectAddress>? Bcc,
    IReadOnlyList<InjectAddress>? ReplyTo, string? Subject, string? Text, string? Html, IReadOnlyList<InjectAttachment>? Attachments,
    Dictionary<string, string>? Headers, IReadOnlyList<string>? Tags);
public sealed record InjectedResponse(Guid Id);

/// <summary>
/// <c>/api/v1/environments/{id}/messages</c>: what test code reads, waits for and changes. Every rule
/// (who may read, a token's environment and scope) is Core's <see cref="EnvironmentMailbox"/>;
/// <c>{message}</c> is an id or <c>latest</c> (the newest match of <c>?query=</c>).
/// </summary>
internal static class MessageEndpoints
{
    private const string LockedDown = "default-src 'none'; sandbox";

    public static void Map(RouteGroupBuilder api)
    {
        var messages = api.MapGroup("/environments/{id:guid}/messages").WithTags("Messages");

        messages.MapGet("", ListAsync).WithSummary("List or search messages, newest first")
            .WithDescription("`query` uses the inbox's search syntax (`from:`, `to:`, `subject:`, `tag:`, `is:unread`, `has:attachment`, `before:`/`after:`, `-` negation, quoted phrases). Pass `nextCursor` back as `cursor` for the next page.");
        messages.MapGet("/{message}", DetailAsync).WithSummary("One message: summary, envelope, headers, text, the HTML as sent, attachments");
        messages.MapGet("/{message}/raw", RawAsync).WithSummary("The original .eml").Produces(200, contentType: "message/rfc822");
        messages.MapGet("/{message}/headers", HeadersAsync).WithSummary("Every header, in order");
        messages.MapGet("/{message}/text", TextAsync).WithSummary("The plain text (the HTML turned into text when there is no text part)").Produces<string>(200, "text/plain");
        messages.MapGet("/{message}/html", HtmlAsync).WithSummary("The sanitized HTML document the inbox shows").Produces<string>(200, "text/html");
        messages.MapGet("/{message}/parts/{partId}", PartAsync).WithSummary("Download one attachment or inline part by its part id").Produces(200, contentType: "application/octet-stream");
        messages.MapDelete("/{message}", DeleteAsync).WithSummary("Delete one message (read-write token)");
        messages.MapDelete("", DeleteAllAsync).WithSummary("Delete every message, or every match of ?query= (read-write token)");
        messages.MapPut("", SetReadAsync).WithSummary("Mark messages read or unread: by ids, by query, or all (read-write token)");
        messages.MapPost("", InjectAsync).WithSummary("Add a message: JSON fields, or a raw .eml with Content-Type: message/rfc822 (read-write token)");
    }

    private static async Task<MessageListResponse> ListAsync(Guid id, HttpContext http, EnvironmentMailbox mailbox,
        string? query, int? limit, string? cursor)
    {
        if (limit is < 1 or > MessageStore.MaxPageSize)
            throw new TenancyException($"limit must be from 1 to {MessageStore.MaxPageSize}.");
        var page = await mailbox.ListAsync(EnvironmentEndpoints.CallerOf(http), id, query, MessageCursorText.Parse(cursor),
            limit ?? EnvironmentMailbox.DefaultPageSize, http.RequestAborted);
        return new MessageListResponse(page.Total, page.Unread, page.Matching, [.. page.Items.Select(Summary)], MessageCursorText.Format(page.Next));
    }

    public static MessageSummaryView Summary(MessageListItem m) => new(
        m.Id, m.EnvironmentId, m.ReceivedUtc, Envelope(m.EnvelopeFrom, m.EnvelopeTo), m.From, m.To, m.Subject, m.AttachmentCount, m.IsRead, m.Size);

    private static EnvelopeView Envelope(string from, string to) =>
        new(from, [.. to.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)]);

    private static async Task<MessageDetailView> DetailAsync(Guid id, string message, string? query, HttpContext http, EnvironmentMailbox mailbox)
    {
        var opened = await OpenAsync(id, message, query, http, mailbox);
        var s = opened.Summary;
        return new MessageDetailView(s.Id, s.EnvironmentId, s.ReceivedUtc, Envelope(s.EnvelopeFrom, s.EnvelopeTo), s.From, s.To, s.Cc, s.ReplyTo,
            s.Subject, s.MessageIdHeader, s.Size, s.IsRead, opened.Headers, opened.TextAsSent, opened.HtmlAsSent,
            [.. opened.Attachments.Select(a => new AttachmentView(a.PartPath, a.FileName, a.ContentType, a.Size, a.ContentId, a.IsInline))]);
    }

    private static async Task<IResult> RawAsync(Guid id, string message, string? query, HttpContext http, EnvironmentMailbox mailbox)
    {
        var (summary, raw) = await mailbox.OpenRawAsync(EnvironmentEndpoints.CallerOf(http), id, Ref(message), query, http.RequestAborted);
        LockDown(http);
        return Results.File(raw, "message/rfc822", $"message-{summary.Id:N}.eml");
    }

    private static async Task<IReadOnlyList<HeaderLine>> HeadersAsync(Guid id, string message, string? query, HttpContext http, EnvironmentMailbox mailbox) =>
        (await OpenAsync(id, message, query, http, mailbox)).Headers;

    private static async Task<IResult> TextAsync(Guid id, string message, string? query, HttpContext http, EnvironmentMailbox mailbox) =>
        PlainText(await OpenAsync(id, message, query, http, mailbox), http);

    /// <summary>The plain text (the HTML turned into text when there is no text part); Mailpit's /view/{ID}.txt answers with it too.</summary>
    internal static IResult PlainText(OpenedMessage opened, HttpContext http)
    {
        var plain = opened.Plain ?? throw new NotFoundException("This message has neither a text nor an HTML body.");
        LockDown(http);
        return Results.Text(plain.Text, "text/plain; charset=utf-8");
    }

    private static async Task<IResult> HtmlAsync(Guid id, string message, string? query, HttpContext http, EnvironmentMailbox mailbox)
    {
        // Read with a token and no inbox session, so cid: images travel inside the document; remote images go through the signed proxy.
        var rendered = (await OpenAsync(id, message, query, http, mailbox)).RenderHtmlWithEmbeddedImages(blockRemoteImages: false)
            ?? throw new NotFoundException("This message has no HTML part; read /text instead.");
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'; sandbox";
        NoSniffNoCache(http);
        return Results.Content(rendered.Document, "text/html; charset=utf-8");
    }

    private static async Task<IResult> PartAsync(Guid id, string message, string partId, string? query, HttpContext http, EnvironmentMailbox mailbox) =>
        Download(Part(await OpenAsync(id, message, query, http, mailbox), partId), http);

    internal static PartContent Part(OpenedMessage opened, string partId) =>
        opened.Part(partId) ?? throw new NotFoundException($"This message has no part {partId}; the attachment list names the part ids.");

    /// <summary>Always a download (attachment disposition, cleaned name), never rendered on this origin; Mailpit's /part answers with it too.</summary>
    internal static IResult Download(PartContent part, HttpContext http)
    {
        LockDown(http);
        return Results.File(part.Content, part.ContentType, part.FileName);
    }

    private static async Task<IResult> DeleteAsync(Guid id, string message, string? query, HttpContext http, EnvironmentMailbox mailbox)
    {
        await mailbox.DeleteAsync(EnvironmentEndpoints.CallerOf(http), id, Ref(message), query, http.RequestAborted);
        return Results.NoContent();
    }

    private static async Task<ChangedResponse> DeleteAllAsync(Guid id, string? query, HttpContext http, EnvironmentMailbox mailbox) =>
        new(await mailbox.DeleteAllAsync(EnvironmentEndpoints.CallerOf(http), id, query, http.RequestAborted));

    private static async Task<ChangedResponse> SetReadAsync(Guid id, SetReadRequest? request, HttpContext http, EnvironmentMailbox mailbox)
    {
        if (request?.Read is not { } read)
            throw new TenancyException("Send a JSON body like { \"read\": true, \"ids\": [\"...\"] } or { \"read\": true, \"query\": \"subject:welcome\" }; without ids or query every message is marked.");
        var caller = EnvironmentEndpoints.CallerOf(http);
        return new(request.Ids is { Count: > 0 } ids
            ? await mailbox.SetReadAsync(caller, id, ids, read, http.RequestAborted)
            : await mailbox.SetReadMatchingAsync(caller, id, request.Query, read, http.RequestAborted));
    }

    private static async Task<IResult> InjectAsync(Guid id, HttpContext http, MessageInjection injection)
    {
        var caller = EnvironmentEndpoints.CallerOf(http);
        var contentType = http.Request.ContentType ?? "";
        Guid created;
        if (contentType.StartsWith("message/rfc822", StringComparison.OrdinalIgnoreCase))
            created = await injection.InjectRawAsync(caller, id, http.Request.Body, http.RequestAborted);
        else if (http.Request.HasJsonContentType())
        {
            InjectRequest? request;
            try { request = await http.Request.ReadFromJsonAsync<InjectRequest>(http.RequestAborted); }
            catch (System.Text.Json.JsonException e) { throw new TenancyException($"The JSON body could not be read: {e.Message}"); }
            created = await injection.InjectAsync(caller, id, Compose(request ?? throw new TenancyException("Send the message as JSON.")), http.RequestAborted);
        }
        else
            throw new TenancyException("Send the message as JSON (Content-Type: application/json) or as a raw .eml (Content-Type: message/rfc822).");
        return Results.Created($"/api/v1/environments/{id}/messages/{created}", new InjectedResponse(created));
    }

    private static ComposedMessage Compose(InjectRequest r) => new(
        Address(r.From ?? throw new TenancyException("Give the message a sender: \"from\": { \"email\": \"app@example.com\" }.")),
        [.. (r.To ?? []).Select(Address)], r.Cc?.Select(Address).ToList(), r.Bcc?.Select(Address).ToList(), r.ReplyTo?.Select(Address).ToList(),
        r.Subject, r.Text, r.Html,
        r.Attachments?.Select(a => new ComposedAttachment(a.FileName ?? "attachment", a.ContentType ?? "application/octet-stream", Base64(a.Content), a.ContentId)).ToList(),
        r.Headers, r.Tags);

    private static ComposedAddress Address(InjectAddress a) => new(a.Email ?? "", a.Name);

    internal static byte[] Base64(string? content)
    {
        try { return Convert.FromBase64String(content ?? ""); }
        catch (FormatException) { throw new TenancyException("An attachment's content must be base64."); }
    }

    internal static MessageRef Ref(string message) =>
        MessageRef.TryParse(message, out var reference) ? reference : throw new NotFoundException("There is no such message in this environment.");

    internal static Task<OpenedMessage> OpenAsync(Guid id, string message, string? query, HttpContext http, EnvironmentMailbox mailbox) =>
        mailbox.OpenAsync(EnvironmentEndpoints.CallerOf(http), id, Ref(message), query, http.RequestAborted);

    internal static void LockDown(HttpContext http)
    {
        http.Response.Headers.ContentSecurityPolicy = LockedDown;
        NoSniffNoCache(http);
    }

    internal static void NoSniffNoCache(HttpContext http)
    {
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.CacheControl = "private, no-store";
    }
}
