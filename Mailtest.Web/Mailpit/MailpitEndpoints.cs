using System.Security.Cryptography;
using System.Text.Json;
using Mailtest.Core.Capture;
using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Mailbox;
using Mailtest.Core.Messages.Preview;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Api;
using MimeKit;
using MimeKit.Utils;

namespace Mailtest.Web.Mailpit;

/// <summary>
/// Mailpit's REST API, per environment, under <c>/mailpit/{environmentId}</c>: an existing Mailpit
/// suite points its base URL here and keeps working. A thin translation onto Core's
/// <see cref="EnvironmentMailbox"/>, <see cref="MessageInjection"/> and <see cref="SmtpFaultInjection"/>:
/// every rule (who may read, a token's environment and scope) is theirs. What Mailpit offers and
/// Mailtest does not answers with a sentence saying so.
/// </summary>
internal static class MailpitEndpoints
{
    public const string Prefix = "/mailpit";
    private const string Ok = "ok";
    private static readonly DateTime Started = DateTime.UtcNow;

    public static void Map(RouteGroupBuilder mailpit)
    {
        var api = mailpit.MapGroup("/api/v1");
        api.MapGet("/info", InfoAsync);
        api.MapGet("/webui", WebUiAsync);
        api.MapGet("/messages", (Guid environmentId, int? start, int? limit, HttpContext http, EnvironmentMailbox mailbox) =>
            ListAsync(environmentId, null, start, limit, http, mailbox));
        api.MapPut("/messages", SetReadAsync);
        api.MapDelete("/messages", DeleteAsync);
        api.MapGet("/search", (Guid environmentId, string? query, int? start, int? limit, HttpContext http, EnvironmentMailbox mailbox) =>
            ListAsync(environmentId, Required(query), start, limit, http, mailbox));
        api.MapDelete("/search", async (Guid environmentId, string? query, HttpContext http, EnvironmentMailbox mailbox) =>
        {
            await mailbox.DeleteAllAsync(Caller(http), environmentId, Required(query), http.RequestAborted);
            return Text(Ok);
        });
        api.MapGet("/message/{id}", MessageAsync);
        api.MapGet("/message/{id}/headers", HeadersAsync);
        api.MapGet("/message/{id}/raw", RawAsync);
        api.MapGet("/message/{id}/part/{partId}", PartAsync);
        api.MapGet("/message/{id}/part/{partId}/thumb", ThumbnailAsync);
        api.MapGet("/message/{id}/html-check", Unsupported(StatusCodes.Status501NotImplemented,
            "Mailtest has no HTML check (email client compatibility) yet; it is planned, not shipped."));
        api.MapGet("/message/{id}/link-check", Unsupported(StatusCodes.Status501NotImplemented,
            "Mailtest has no link check: it never fetches the links of captured mail from the server."));
        api.MapGet("/message/{id}/sa-check", Unsupported(StatusCodes.Status501NotImplemented,
            "Mailtest has no spam check (SpamAssassin) yet; it is planned, not shipped."));
        api.MapPost("/message/{id}/release", Unsupported(StatusCodes.Status403Forbidden,
            "Mailtest never sends captured mail on to real recipients (Mailpit's release): keeping mail from reaching people is what it is for."));
        api.MapPost("/send", SendAsync);
        api.MapGet("/tags", async (Guid environmentId, HttpContext http, EnvironmentMailbox mailbox) =>
            Json((await mailbox.ListTagsAsync(Caller(http), environmentId, http.RequestAborted)).Select(t => t.Name)));
        api.MapPut("/tags", SetTagsAsync);
        api.MapPut("/tags/{tag}", RenameTagAsync);
        api.MapDelete("/tags/{tag}", async (Guid environmentId, string tag, HttpContext http, EnvironmentMailbox mailbox) =>
        {
            await mailbox.DeleteTagAsync(Caller(http), environmentId, tag, http.RequestAborted);
            return Text(Ok);
        });
        api.MapGet("/chaos", async (Guid environmentId, HttpContext http, SmtpFaultInjection faults) =>
            Json(Chaos(await faults.GetAsync(Caller(http), environmentId, http.RequestAborted))));
        api.MapPut("/chaos", SetChaosAsync);

        mailpit.MapGet("/view/{id}.html", ViewHtmlAsync);
        mailpit.MapGet("/view/{id}.txt", ViewTextAsync);
    }

    private static async Task<IResult> InfoAsync(Guid environmentId, HttpContext http, EnvironmentMailbox mailbox)
    {
        var page = await mailbox.ListAsync(Caller(http), environmentId, null, null, 1, http.RequestAborted);
        var version = typeof(MailpitEndpoints).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        var tags = await mailbox.ListTagsAsync(Caller(http), environmentId, http.RequestAborted);
        return Json(new MailpitInfo($"mailtest-{version}", "", "", 0, page.Total, page.Unread, tags.ToDictionary(t => t.Name, t => t.Messages),
            new MailpitRuntimeStats((long)(DateTime.UtcNow - Started).TotalSeconds, 0, 0, 0, 0, 0)));
    }

    private static async Task<IResult> WebUiAsync(Guid environmentId, HttpContext http, AccessRules access)
    {
        await access.RequireMailAsync(Caller(http), environmentId, MailAccess.Read, http.RequestAborted);
        return Json(new MailpitWebUi("Mailtest", new MailpitRelay(false, "", "", "", "", "", false, ""),
            SpamAssassin: false, ChaosEnabled: true, DuplicatesIgnored: false, HideDeleteAllButton: false));
    }

    /// <summary>Mailpit pages by offset (<c>start</c>); Core pages by cursor, so the offset is walked in large steps.</summary>
    private static async Task<IResult> ListAsync(Guid environmentId, string? search, int? start, int? limit, HttpContext http, EnvironmentMailbox mailbox)
    {
        var caller = Caller(http);
        var offset = Math.Max(0, start ?? 0);
        var size = Math.Clamp(limit is > 0 ? limit.Value : EnvironmentMailbox.DefaultPageSize, 1, MessageStore.MaxPageSize);
        MessageCursor? after = null;
        for (var skip = offset; skip > 0;)
        {
            var skipped = await mailbox.ListAsync(caller, environmentId, search, after, Math.Min(skip, MessageStore.MaxPageSize), http.RequestAborted);
            skip -= skipped.Items.Count;
            after = skipped.Next;
            if (after is null) break;
        }
        var page = offset > 0 && after is null
            ? await mailbox.ListAsync(caller, environmentId, search, null, 1, http.RequestAborted) with { Items = [] } // past the end: counts only
            : await mailbox.ListAsync(caller, environmentId, search, after, size, http.RequestAborted);
        // Unread among the matches: the same search narrowed by is:unread (the search terms are and-ed).
        var unreadMatches = search is null ? page.Unread
            : (await mailbox.ListAsync(caller, environmentId, search + " is:unread", null, 1, http.RequestAborted)).Matching;
        var tags = await mailbox.ListTagsAsync(caller, environmentId, http.RequestAborted);
        return Json(new MailpitMessagesSummary(page.Total, page.Unread, page.Items.Count, page.Matching, unreadMatches, offset, [.. tags.Select(t => t.Name)],
            [.. page.Items.Select(ListItem)]));
    }

    private static MailpitListItem ListItem(MessageListItem m) => new(
        m.Id.ToString(), "", m.IsRead, Addresses(m.From).FirstOrDefault(), Addresses(m.To), [], [], [], m.Subject ?? "", m.ReceivedUtc, "",
        m.Tags, m.Size, m.AttachmentCount, "");

    /// <summary>Mailpit's PUT /api/v1/tags: the listed messages' tags become exactly <c>Tags</c> (none: no tags).</summary>
    private static async Task<IResult> SetTagsAsync(Guid environmentId, HttpContext http, EnvironmentMailbox mailbox)
    {
        var request = await BodyAsync<MailpitSetTagsRequest>(http);
        if (request?.IDs is not { Count: > 0 } ids)
            throw new TenancyException("Name the messages to tag: {\"IDs\": [\"...\"], \"Tags\": [\"tag\"]}.");
        await mailbox.SetTagsAsync(Caller(http), environmentId, [.. ids.Select(MessageId)], request.Tags ?? [], http.RequestAborted);
        return Text(Ok);
    }

    private static async Task<IResult> RenameTagAsync(Guid environmentId, string tag, HttpContext http, EnvironmentMailbox mailbox)
    {
        var request = await BodyAsync<MailpitRenameTagRequest>(http);
        await mailbox.RenameTagAsync(Caller(http), environmentId, tag, request?.Name ?? "", http.RequestAborted);
        return Text(Ok);
    }

    private static async Task<IResult> SetReadAsync(Guid environmentId, HttpContext http, EnvironmentMailbox mailbox)
    {
        var request = await BodyAsync<MailpitReadRequest>(http) ?? new MailpitReadRequest(null, null, null);
        var read = request.Read ?? false; // Mailpit: Read defaults to false
        if (request.IDs is { Count: > 0 } ids)
            await mailbox.SetReadAsync(Caller(http), environmentId, [.. ids.Select(MessageId)], read, http.RequestAborted);
        else
            await mailbox.SetReadMatchingAsync(Caller(http), environmentId, request.Search, read, http.RequestAborted);
        return Text(Ok);
    }

    /// <summary>The listed IDs, or everything when there are none (Mailpit's DELETE /api/v1/messages).</summary>
    private static async Task<IResult> DeleteAsync(Guid environmentId, HttpContext http, EnvironmentMailbox mailbox)
    {
        var request = await BodyAsync<MailpitIdsRequest>(http);
        if (request?.IDs is { Count: > 0 } ids)
            foreach (var id in ids)
                await mailbox.DeleteAsync(Caller(http), environmentId, new MessageRef(MessageId(id)), null, http.RequestAborted);
        else
            await mailbox.DeleteAllAsync(Caller(http), environmentId, null, http.RequestAborted);
        return Text(Ok);
    }

    private static async Task<IResult> MessageAsync(Guid environmentId, string id, string? query, HttpContext http, EnvironmentMailbox mailbox)
    {
        var opened = await OpenAsync(environmentId, id, query, http, mailbox);
        var summary = opened.Summary;
        var to = Addresses(summary.To);
        var cc = Addresses(summary.Cc);
        var shown = to.Concat(cc).Select(a => a.Address).ToHashSet(StringComparer.OrdinalIgnoreCase);
        // Bcc is what the envelope had beyond To and Cc, as Mailpit shows it.
        var bcc = summary.EnvelopeTo.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(a => !shown.Contains(a)).Select(a => new MailpitAddress("", a)).ToList();
        var parts = opened.Attachments.Select(a => (a.IsInline, Attachment: Attachment(opened, a))).ToList();
        var date = Header(opened, "Date") is { } sent && DateUtils.TryParse(sent, out var parsed) ? parsed.UtcDateTime : summary.ReceivedUtc;
        return Json(new MailpitMessage(
            summary.Id.ToString(), summary.MessageIdHeader ?? "", Addresses(summary.From).FirstOrDefault(), to, cc, bcc, Addresses(summary.ReplyTo),
            summary.EnvelopeFrom, summary.Subject ?? "",
            new MailpitListUnsubscribe(Header(opened, "List-Unsubscribe") ?? "", [], "", Header(opened, "List-Unsubscribe-Post") ?? ""),
            date, MessageTags.Split(summary.Tags), "", opened.TextAsSent ?? "", opened.HtmlAsSent ?? "", summary.Size,
            [.. parts.Where(p => p.IsInline).Select(p => p.Attachment)], [.. parts.Where(p => !p.IsInline).Select(p => p.Attachment)]));
    }

    private static MailpitAttachment Attachment(OpenedMessage opened, PreviewAttachment attachment)
    {
        var bytes = opened.Part(attachment.PartPath)?.Content ?? [];
        return new MailpitAttachment(attachment.PartPath, attachment.FileName, attachment.ContentType, attachment.ContentId ?? "", bytes.Length,
            new MailpitChecksums(Convert.ToHexStringLower(MD5.HashData(bytes)), Convert.ToHexStringLower(SHA1.HashData(bytes)),
                Convert.ToHexStringLower(SHA256.HashData(bytes))));
    }

    private static string? Header(OpenedMessage opened, string name) =>
        opened.Headers.FirstOrDefault(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase))?.Value;

    private static async Task<IResult> HeadersAsync(Guid environmentId, string id, string? query, HttpContext http, EnvironmentMailbox mailbox)
    {
        var opened = await OpenAsync(environmentId, id, query, http, mailbox);
        var headers = opened.Headers
            .GroupBy(h => h.Name, StringComparer.OrdinalIgnoreCase)
            .OrderBy(g => g.Key, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.First().Name, g => g.Select(h => h.Value).ToArray());
        return Json(headers);
    }

    private static async Task<IResult> RawAsync(Guid environmentId, string id, string? query, HttpContext http, EnvironmentMailbox mailbox)
    {
        var (_, raw) = await mailbox.OpenRawAsync(Caller(http), environmentId, MessageEndpoints.Ref(id), query, http.RequestAborted);
        MessageEndpoints.LockDown(http);
        return Results.Stream(raw, "text/plain; charset=utf-8"); // Mailpit serves the source as text
    }

    private static async Task<IResult> PartAsync(Guid environmentId, string id, string partId, HttpContext http, EnvironmentMailbox mailbox) =>
        MessageEndpoints.Download(MessageEndpoints.Part(await OpenAsync(environmentId, id, null, http, mailbox), partId), http);

    private static async Task<IResult> ThumbnailAsync(Guid environmentId, string id, string partId, HttpContext http, EnvironmentMailbox mailbox)
    {
        var part = MessageEndpoints.Part(await OpenAsync(environmentId, id, null, http, mailbox), partId);
        var jpeg = AttachmentThumbnail.Render(part.Content, part.ContentType);
        MessageEndpoints.LockDown(http);
        return Results.File(jpeg, "image/jpeg", Path.GetFileNameWithoutExtension(part.FileName) + ".jpg");
    }

    private static async Task<IResult> SendAsync(Guid environmentId, HttpContext http, MessageInjection injection)
    {
        var request = await BodyAsync<MailpitSendRequest>(http) ?? throw new TenancyException("Send the message as JSON, as Mailpit's POST /api/v1/send takes it.");
        var composed = new ComposedMessage(
            Address(request.From ?? throw new TenancyException("Give the message a sender: \"From\": { \"Email\": \"app@example.com\" }.")),
            [.. (request.To ?? []).Select(Address)], request.Cc?.Select(Address).ToList(),
            request.Bcc?.Select(b => new ComposedAddress(b)).ToList(), request.ReplyTo?.Select(Address).ToList(),
            request.Subject, request.Text, request.HTML,
            request.Attachments?.Select(a => new ComposedAttachment(a.Filename ?? "attachment",
                string.IsNullOrWhiteSpace(a.ContentType) ? "application/octet-stream" : a.ContentType, MessageEndpoints.Base64(a.Content), a.ContentID)).ToList(),
            request.Headers, request.Tags);
        var id = await injection.InjectAsync(Caller(http), environmentId, composed, http.RequestAborted);
        return Json(new MailpitSendResponse(id.ToString()));
    }

    private static async Task<IResult> SetChaosAsync(Guid environmentId, HttpContext http, SmtpFaultInjection faults)
    {
        // Mailpit: a trigger left out is reset to 0%.
        var request = await BodyAsync<MailpitChaosTriggers>(http) ?? new MailpitChaosTriggers(null, null, null);
        var set = await faults.SetAsync(Caller(http), environmentId,
            new SmtpFaults(Trigger(request.Authentication), Trigger(request.Sender), Trigger(request.Recipient)), http.RequestAborted);
        return Json(Chaos(set));
    }

    private static SmtpFaultTrigger Trigger(MailpitChaosTrigger? trigger) =>
        trigger is null ? SmtpFaultTrigger.Off : new SmtpFaultTrigger(trigger.ErrorCode, trigger.Probability);

    private static MailpitChaosTriggers Chaos(SmtpFaults faults) => new(
        new(faults.Authentication.ReplyCode, faults.Authentication.Probability), new(faults.Sender.ReplyCode, faults.Sender.Probability),
        new(faults.Recipient.ReplyCode, faults.Recipient.Probability));

    /// <summary>The HTML as sent, for UI tests that read links from it, locked in a sandbox: no script runs and nothing loads on this origin.</summary>
    private static async Task<IResult> ViewHtmlAsync(Guid environmentId, string id, string? query, HttpContext http, EnvironmentMailbox mailbox)
    {
        var html = (await OpenAsync(environmentId, id, query, http, mailbox)).HtmlAsSentWithEmbeddedImages ?? throw new NotFoundException("This message has no HTML part; read /view/{ID}.txt instead.");
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'; sandbox";
        MessageEndpoints.NoSniffNoCache(http);
        return Results.Content(html, "text/html; charset=utf-8");
    }

    private static async Task<IResult> ViewTextAsync(Guid environmentId, string id, string? query, HttpContext http, EnvironmentMailbox mailbox) =>
        MessageEndpoints.PlainText(await OpenAsync(environmentId, id, query, http, mailbox), http);

    private static Task<OpenedMessage> OpenAsync(Guid environmentId, string id, string? query, HttpContext http, EnvironmentMailbox mailbox) =>
        MessageEndpoints.OpenAsync(environmentId, id, query, http, mailbox);

    private static Caller Caller(HttpContext http) => EnvironmentEndpoints.CallerOf(http);

    private static Guid MessageId(string id) =>
        Guid.TryParse(id, out var guid) ? guid : throw new NotFoundException($"There is no message {id} in this environment.");

    private static string Required(string? query) => string.IsNullOrWhiteSpace(query)
        ? throw new TenancyException("Give a search: ?query=subject:welcome (the inbox's search syntax).")
        : query.Trim();

    private static ComposedAddress Address(MailpitSendAddress address) => new(address.Email ?? "", address.Name);

    private static List<MailpitAddress> Addresses(InternetAddressList list) =>
        [.. list.Mailboxes.Select(m => new MailpitAddress(m.Name ?? "", m.Address))];

    /// <summary>A header value as the summary row keeps it ("Shop &lt;shop@example.com&gt;, ...").</summary>
    private static List<MailpitAddress> Addresses(string? header) =>
        header is not null && InternetAddressList.TryParse(header, out var list) ? Addresses(list) : [];

    /// <summary>A JSON body in Mailpit's casing; none at all is null (DELETE /api/v1/messages sends none).</summary>
    private static async Task<T?> BodyAsync<T>(HttpContext http) where T : class
    {
        if (http.Request.ContentLength == 0 || (http.Request.ContentLength is null && !http.Request.Headers.ContainsKey("Transfer-Encoding"))) return null;
        try { return await JsonSerializer.DeserializeAsync<T>(http.Request.Body, MailpitJson.Options, http.RequestAborted); }
        catch (JsonException e) { throw new TenancyException($"The JSON body could not be read: {e.Message}"); }
    }

    private static IResult Json<T>(T value) => Results.Json(value, MailpitJson.Options);

    private static IResult Text(string text) => Results.Text(text, "text/plain; charset=utf-8");

    /// <summary>An error as Mailpit answers one: the status and a plain-text sentence.</summary>
    public static IResult Error(int status, string sentence) => Results.Text(sentence, "text/plain; charset=utf-8", statusCode: status);

    /// <summary>
    /// What Mailpit offers and Mailtest does not: the sentence, once the caller is known to read this
    /// environment (anyone else meets the same 403/404 as on every other path).
    /// </summary>
    private static Func<Guid, HttpContext, AccessRules, Task<IResult>> Unsupported(int status, string sentence) =>
        async (environmentId, http, access) =>
        {
            await access.RequireMailAsync(Caller(http), environmentId, MailAccess.Read, http.RequestAborted);
            return Error(status, sentence);
        };
}
