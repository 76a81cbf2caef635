using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Preview;
using Mailtest.Core.Tenancy;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Mailtest.Web.Inbox;

/// <summary>
/// What the preview frame and the download links fetch. The frame is sandboxed (opaque origin, no
/// cookies), so these endpoints are authorized by the message grant in the link (see
/// <see cref="PreviewLinkSigner"/>), which the inbox mints only after AccessRules allowed the caller,
/// and which works only while its minter may still read the environment (<see cref="CurrentAccess"/>);
/// the message is opened in the grant's environment only. A wrong, expired, foreign or revoked grant is a 404.
/// Everything served carries nosniff and a CSP sandbox, so even opened on its own it runs no script.
/// </summary>
internal static class InboxEndpoints
{
    private const string LockedDown = "default-src 'none'; frame-ancestors 'self'; sandbox";

    public static void Map(IEndpointRouteBuilder app)
    {
        // Anonymous at the HTTP layer on purpose: the grant is the authorization (cookies never reach the sandbox).
        var messages = app.MapGroup(InboxLinks.MessagesPrefix).AllowAnonymous();
        messages.MapGet("/{id:guid}/html", HtmlDocumentAsync);
        messages.MapGet("/{id:guid}/cid/{contentId}", ContentIdPartAsync);
        messages.MapGet("/{id:guid}/parts/{partPath}", AttachmentAsync);
        messages.MapGet("/{id:guid}/raw", RawAsync);
        app.MapGet(PreviewLinkSigner.ImageProxyPath, ImageProxyAsync).AllowAnonymous();
    }

    private static async Task<IResult> HtmlDocumentAsync(
        HttpContext http, Guid id, [FromQuery(Name = "t")] string? token, [FromQuery] string? remote,
        [FromServices] PreviewLinkSigner signer, [FromServices] CurrentAccess access, [FromServices] MessagePreviews previews,
        [FromServices] IOptions<InboxOptions> options, CancellationToken cancellationToken)
    {
        if (await ReadGrantAsync(id, token, signer, access, cancellationToken) is not { } grant
            || await previews.OpenAsync(grant.MessageId, [grant.EnvironmentId], cancellationToken) is not { } message)
            return Results.NotFound();

        var blockRemote = remote == "blocked" || options.Value.DisableImageProxy;
        var rendered = message.RenderHtml(new InboxLinks(grant), blockRemote);
        var origin = $"{http.Request.Scheme}://{http.Request.Host}";
        var imageSources = $"data: {origin}{InboxLinks.MessagesPrefix}/{id:N}/cid/" + (blockRemote ? "" : $" {origin}{PreviewLinkSigner.ImageProxyPath}");
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy =
            $"default-src 'none'; img-src {imageSources}; style-src 'unsafe-inline'; font-src 'none'; form-action 'none'; " +
            "base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox";
        NoSniffNoCache(http);
        return Results.Content(rendered?.Document ?? "<!DOCTYPE html><p>This message has no HTML part.</p>", "text/html; charset=utf-8");
    }

    private static async Task<IResult> ContentIdPartAsync(
        HttpContext http, Guid id, string contentId, [FromQuery(Name = "t")] string? token,
        [FromServices] PreviewLinkSigner signer, [FromServices] CurrentAccess access, [FromServices] MessagePreviews previews, CancellationToken cancellationToken)
    {
        // Only images are shown inline; anything else a cid: points at stays a download in the Attachments tab.
        if (await OpenAsync(id, token, signer, access, previews, cancellationToken) is not { } message || message.InlineImage(contentId) is not { } image)
            return Results.NotFound();
        http.Response.Headers.ContentSecurityPolicy = LockedDown;
        NoSniffNoCache(http);
        return Results.Bytes(image.Content, image.ContentType);
    }

    private static async Task<IResult> AttachmentAsync(
        HttpContext http, Guid id, string partPath, [FromQuery(Name = "t")] string? token,
        [FromServices] PreviewLinkSigner signer, [FromServices] CurrentAccess access, [FromServices] MessagePreviews previews, CancellationToken cancellationToken)
    {
        if (await OpenAsync(id, token, signer, access, previews, cancellationToken) is not { } message || message.Part(partPath) is not { } part)
            return Results.NotFound();
        http.Response.Headers.ContentSecurityPolicy = LockedDown;
        NoSniffNoCache(http);
        // A download, never rendered here: Content-Disposition: attachment with the cleaned name.
        return Results.File(part.Content, "application/octet-stream", part.FileName);
    }

    private static async Task<IResult> RawAsync(
        HttpContext http, Guid id, [FromQuery(Name = "t")] string? token,
        [FromServices] PreviewLinkSigner signer, [FromServices] CurrentAccess access, [FromServices] MessagePreviews previews, CancellationToken cancellationToken)
    {
        if (await OpenAsync(id, token, signer, access, previews, cancellationToken) is not { } message) return Results.NotFound();
        http.Response.Headers.ContentSecurityPolicy = LockedDown;
        NoSniffNoCache(http);
        return Results.File(message.OpenRaw(), "message/rfc822", $"message-{id:N}.eml");
    }

    private static async Task<IResult> ImageProxyAsync(
        HttpContext http, [FromQuery] string? url, [FromQuery] string? exp, [FromQuery] string? sig,
        [FromServices] PreviewLinkSigner signer, [FromServices] RemoteImageFetcher fetcher, [FromServices] IOptions<InboxOptions> options,
        [FromServices] ILogger<RemoteImageFetcher> logger, CancellationToken cancellationToken)
    {
        if (options.Value.DisableImageProxy) return Results.NotFound();
        if (url is null || !signer.IsValidImageSignature(url, exp, sig) || !Uri.TryCreate(url, UriKind.Absolute, out var target))
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Image link refused",
                detail: "This image link was not made by this server or has expired; open the message again.");
        try
        {
            var image = await fetcher.FetchAsync(target, cancellationToken);
            http.Response.Headers.ContentSecurityPolicy = LockedDown;
            http.Response.Headers.XContentTypeOptions = "nosniff";
            http.Response.Headers.CacheControl = "private, max-age=3600";
            return Results.Bytes(image.Content, image.ContentType);
        }
        catch (ImageRefusedException refused)
        {
            logger.LogInformation("Image proxy refused {Host}: {Reason}", target.Host, refused.Message);
            return Results.Problem(statusCode: refused.Status, title: "Image not loaded", detail: refused.Message);
        }
    }

    /// <summary>The link's grant, if it is genuine, unexpired, and its minter may read its environment now.</summary>
    private static async Task<MessageGrant?> ReadGrantAsync(Guid id, string? token, PreviewLinkSigner signer, CurrentAccess access, CancellationToken cancellationToken) =>
        signer.ReadGrant(id, token) is { } grant && await access.MayReadAsync(grant.UserId, grant.EnvironmentId, cancellationToken) ? grant : null;

    // The grant in the link is the authorization: the message is opened in the grant's environment only.
    private static async Task<OpenedMessage?> OpenAsync(Guid id, string? token, PreviewLinkSigner signer, CurrentAccess access, MessagePreviews previews, CancellationToken cancellationToken) =>
        await ReadGrantAsync(id, token, signer, access, cancellationToken) is { } grant ? await previews.OpenAsync(grant.MessageId, [grant.EnvironmentId], cancellationToken) : null;

    private static void NoSniffNoCache(HttpContext http)
    {
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.CacheControl = "private, no-store";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
    }
}
