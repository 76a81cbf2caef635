using Mailtest.Tests.Infrastructure;
using System.Net;
using Mailtest.Core.Messages.Preview;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Mailtest.Tests.Inbox;

/// <summary>The preview document, part, download and image-proxy endpoints over real HTTP on the real host.</summary>
[TestCategory(Needs.Host)]
public sealed class InboxEndpointTests(InboxSite site) : IClassFixture<InboxSite>
{
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");
    private PreviewLinkSigner Signer => site.Services.GetRequiredService<PreviewLinkSigner>();
    private HttpClient Http => new() { BaseAddress = site.WebAddress };

    private async Task<InboxLinks> SendAsync(string subject)
    {
        var body = new BodyBuilder
        {
            HtmlBody = "<p>Hi<script>alert(1)</script></p><img src=\"cid:logo@shop\"><img src=\"https://cdn.example/pixel.gif\">",
            TextBody = "Hi",
        };
        body.LinkedResources.Add("logo.png", Png, ContentType.Parse("image/png")).ContentId = "logo@shop";
        body.Attachments.Add("../../etc/\"evil\".html", "<script>alert(1)</script>"u8.ToArray(), ContentType.Parse("text/html"));
        var message = new MimeMessage { Subject = subject, Body = body.ToMessageBody() };
        message.From.Add(MailboxAddress.Parse("shop@example.com"));
        message.To.Add(MailboxAddress.Parse("anna@example.com"));
        await site.SendAsync(site.Staging, message);
        var item = await site.FindAsync(site.Staging, subject);
        return new InboxLinks(Signer.Grant(item.Id, item.EnvironmentId, site.Member.Id));
    }

    [Fact]
    public async Task Html_document_is_sanitized_and_served_with_a_csp_that_forbids_scripts()
    {
        var links = await SendAsync($"Csp {Guid.NewGuid():N}");
        var origin = site.WebAddress.GetLeftPart(UriPartial.Authority);

        var response = await Http.GetAsync(links.HtmlDocument(blockRemoteImages: false));
        var blocked = await Http.GetAsync(links.HtmlDocument(blockRemoteImages: true));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.StartsWith("default-src 'none';", csp);
        Assert.Contains($"img-src data: {origin}/inbox/messages/{links.Grant.MessageId:N}/cid/ {origin}/inbox/image-proxy;", csp);
        Assert.DoesNotContain("script-src", csp);
        Assert.Contains("sandbox allow-popups allow-popups-to-escape-sandbox", csp);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        var html = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("<script", html);
        Assert.Contains($"/inbox/messages/{links.Grant.MessageId:N}/cid/logo%40shop?t=", html);
        Assert.Contains("/inbox/image-proxy?url=https%3A%2F%2Fcdn.example%2Fpixel.gif", html);
        Assert.DoesNotContain("image-proxy", blocked.Headers.GetValues("Content-Security-Policy").Single());
        Assert.DoesNotContain("image-proxy", await blocked.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Opening_a_message_decrypts_and_parses_it_once_however_many_inline_images_it_has()
    {
        var subject = $"Images {Guid.NewGuid():N}";
        var body = new BodyBuilder { HtmlBody = string.Concat(Enumerable.Range(0, 6).Select(i => $"<img src=\"cid:image{i}@shop\">")) };
        for (var i = 0; i < 6; i++) body.LinkedResources.Add($"image{i}.png", Png, ContentType.Parse("image/png")).ContentId = $"image{i}@shop";
        var message = new MimeMessage { Subject = subject, Body = body.ToMessageBody() };
        message.From.Add(MailboxAddress.Parse("shop@example.com"));
        message.To.Add(MailboxAddress.Parse("anna@example.com"));
        await site.SendAsync(site.Staging, message);
        var item = await site.FindAsync(site.Staging, subject);
        var previews = site.Services.GetRequiredService<MessagePreviews>();
        var (opensBefore, parsesBefore) = (previews.RawOpenCount, previews.ParseCount);

        // What the inbox does when a reader clicks the message: the panel, then the frame, then each image.
        var opened = await previews.OpenAsync(item.Id, [site.Staging.Id]);
        var links = new InboxLinks(Signer.Grant(item.Id, item.EnvironmentId, site.Member.Id));
        var document = await Http.GetStringAsync(links.HtmlDocument(blockRemoteImages: true));
        var images = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Http.GetAsync(links.ContentIdPart($"image{i}@shop"))));

        Assert.Equal(6, opened!.Attachments.Count(a => a.IsInline));
        Assert.Equal(6, Enumerable.Range(0, 6).Count(i => document.Contains($"/cid/image{i}%40shop?t=")));
        Assert.All(images, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        foreach (var image in images) Assert.Equal(Png, await image.Content.ReadAsByteArrayAsync());
        Assert.Equal(opensBefore + 1, previews.RawOpenCount);
        Assert.Equal(parsesBefore + 1, previews.ParseCount);
    }

    [Fact]
    public async Task Links_without_a_valid_grant_for_the_message_are_not_found()
    {
        var links = await SendAsync($"Grant {Guid.NewGuid():N}");
        var id = links.Grant.MessageId;
        var foreignGrant = new InboxLinks(Signer.Grant(id, site.Foreign.Id, site.Member.Id)); // signed, but for another environment
        var otherMessage = new InboxLinks(Signer.Grant(Guid.NewGuid(), site.Staging.Id, site.Member.Id));
        var tampered = links.HtmlDocument(false).Replace(links.Grant.Signature, "AAAA" + links.Grant.Signature[4..]);

        foreach (var url in new[]
        {
            $"/inbox/messages/{id:N}/html", tampered, foreignGrant.HtmlDocument(false), foreignGrant.Raw, foreignGrant.ContentIdPart("logo@shop"),
            otherMessage.HtmlDocument(false), otherMessage.Raw, links.Part("9"), links.ContentIdPart("missing@shop"),
        })
            Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(url)).StatusCode);
    }

    [Fact]
    public async Task Cid_parts_attachments_and_raw_are_served_from_the_message()
    {
        var subject = $"Parts {Guid.NewGuid():N}";
        var links = await SendAsync(subject);

        var image = await Http.GetAsync(links.ContentIdPart("logo@shop"));
        Assert.Equal("image/png", image.Content.Headers.ContentType!.MediaType);
        Assert.Equal(Png, await image.Content.ReadAsByteArrayAsync());
        Assert.Equal("default-src 'none'; frame-ancestors 'self'; sandbox", image.Headers.GetValues("Content-Security-Policy").Single());

        // multipart/mixed: 1 = the related HTML with its logo, 2 = the attachment.
        var attachment = await Http.GetAsync(links.Part("2"));
        Assert.Equal(HttpStatusCode.OK, attachment.StatusCode);
        Assert.Equal("attachment", attachment.Content.Headers.ContentDisposition!.DispositionType);
        Assert.Equal("_evil_.html", attachment.Content.Headers.ContentDisposition.FileNameStar ?? attachment.Content.Headers.ContentDisposition.FileName);
        Assert.Equal("application/octet-stream", attachment.Content.Headers.ContentType!.MediaType);
        Assert.Equal("<script>alert(1)</script>", await attachment.Content.ReadAsStringAsync());

        var raw = await Http.GetAsync(links.Raw);
        Assert.Equal("attachment", raw.Content.Headers.ContentDisposition!.DispositionType);
        Assert.Equal($"message-{links.Grant.MessageId:N}.eml", raw.Content.Headers.ContentDisposition.FileNameStar ?? raw.Content.Headers.ContentDisposition.FileName);
        Assert.Contains($"Subject: {subject}", await raw.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Image_proxy_refuses_unsigned_urls_and_private_addresses()
    {
        var own = new Uri(site.WebAddress, "inbox.css").ToString();

        var unsigned = await Http.GetAsync($"/inbox/image-proxy?url={Uri.EscapeDataString(own)}&sig=forged");
        var otherUrl = await Http.GetAsync(Signer.ImageProxyUrl("https://cdn.example/a.png").Replace("a.png", "b.png"));
        var loopback = await Http.GetAsync(Signer.ImageProxyUrl(own));
        var localhost = await Http.GetAsync(Signer.ImageProxyUrl("http://localhost/logo.png"));
        var metadata = await Http.GetAsync(Signer.ImageProxyUrl("http://169.254.169.254/latest/meta-data/"));

        Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, otherUrl.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, loopback.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, localhost.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, metadata.StatusCode);
    }
}
