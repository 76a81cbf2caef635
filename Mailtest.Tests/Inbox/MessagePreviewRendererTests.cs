using Mailtest.Tests.Infrastructure;
using System.Web;
using Mailtest.Core.Messages.Preview;
using MimeKit;

namespace Mailtest.Tests.Inbox;

[TestCategory(Needs.Unit)]
public sealed class MessagePreviewRendererTests
{
    private static readonly Guid MessageId = Guid.NewGuid();
    private static readonly Guid EnvironmentId = Guid.NewGuid();
    private static readonly Guid UserId = Guid.NewGuid();
    private readonly PreviewLinkSigner _signer = new(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray(), TimeProvider.System);
    private OpenedMessage Open(MimeMessage message) => OpenedMessages.Open(message, _signer, MessageId, EnvironmentId);

    private string Render(string html, bool blockRemote = false, Action<BodyBuilder>? build = null) =>
        Open(Mail(html, build: build)).RenderHtml(new InboxLinks(_signer.Grant(MessageId, EnvironmentId, UserId)), blockRemote)!.Document;

    internal static MimeMessage Mail(string? html, string? text = null, Action<BodyBuilder>? build = null)
    {
        var body = new BodyBuilder { HtmlBody = html, TextBody = text };
        build?.Invoke(body);
        var message = new MimeMessage { Subject = "Hello" };
        message.From.Add(MailboxAddress.Parse("shop@example.com"));
        message.To.Add(MailboxAddress.Parse("anna@example.com"));
        message.Body = body.ToMessageBody();
        return message;
    }

    [Theory]
    [InlineData("<script>window.top.pwned = 1</script><p>hi</p>", "<script")]
    [InlineData("<img src=x onerror=\"alert(1)\"><p>hi</p>", "onerror")]
    [InlineData("<body onload=\"alert(1)\"><p>hi</p></body>", "onload")]
    [InlineData("<a href=\"javascript:alert(1)\">click</a>", "javascript:")]
    [InlineData("<a href=\"JaVaScRiPt:alert(1)\">click</a>", "alert(1)")]
    [InlineData("<form action=\"https://evil.example/steal\"><input name=password></form>", "<form")]
    [InlineData("<form action=\"https://evil.example/steal\"><input name=password></form>", "<input")]
    [InlineData("<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\"><p>hi</p>", "refresh")]
    [InlineData("<base href=\"https://evil.example/\"><img src=\"a.png\">", "<base")]
    [InlineData("<iframe src=\"https://evil.example/\"></iframe><p>hi</p>", "<iframe")]
    [InlineData("<svg><script>alert(1)</script></svg>", "<svg")]
    [InlineData("<object data=\"https://evil.example/x.swf\"></object>", "<object")]
    [InlineData("<link rel=\"stylesheet\" href=\"https://evil.example/x.css\">", "<link")]
    [InlineData("<style>@import url(https://evil.example/x.css); p { color: red }</style><p>hi</p>", "@import")]
    [InlineData("<style>@font-face { font-family: x; src: url(https://evil.example/f.woff) }</style><p>hi</p>", "f.woff")]
    [InlineData("<p style=\"background: url(https://evil.example/track.png)\">hi</p>", "evil.example/track.png")]
    [InlineData("<a href=\"https://example.com/\" ping=\"https://evil.example/ping\">x</a>", "ping")]
    [InlineData("<video src=\"https://evil.example/v.mp4\"></video>", "<video")]
    public void Hostile_html_is_removed(string html, string forbidden)
    {
        var document = Render(html, blockRemote: true);

        Assert.DoesNotContain(forbidden, document, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Harmless_formatting_stays()
    {
        var document = Render("<html><head><style>p { color: red } .total { font-weight: bold }</style></head><body><table class=\"total\"><tr><td><b>Total</b></td></tr></table><p style=\"color: blue\">Thanks</p><a href=\"https://shop.example/order/1\">Your order</a></body></html>");

        Assert.Contains("<b>Total</b>", document);
        Assert.Contains("class=\"total\"", document);
        Assert.Contains(".total { font-weight: bold }", document);
        Assert.Matches(@"<style>p \{ color: rgba\(255, 0, 0", document);
        Assert.Contains("style=\"color: rgba(0, 0, 255, 1)\"", document);
        Assert.Contains("href=\"https://shop.example/order/1\"", document);
        Assert.Contains("target=\"_blank\"", document);
        Assert.Contains("noopener", document);
    }

    [Fact]
    public void Cid_images_point_at_the_messages_own_part_with_its_grant()
    {
        var document = Render("<p><img src=\"cid:logo@shop\"><img src=\"cid:missing@shop\"></p>", build: b =>
        {
            var logo = b.LinkedResources.Add("logo.png", [137, 80, 78, 71], ContentType.Parse("image/png"));
            logo.ContentId = "logo@shop";
        });

        var sources = ImageSources(document);
        var only = Assert.Single(sources);
        Assert.StartsWith($"/inbox/messages/{MessageId:N}/cid/logo%40shop?t=", only);
        var token = HttpUtility.ParseQueryString(only.Split('?')[1])["t"];
        Assert.Equal(EnvironmentId, _signer.ReadGrant(MessageId, token)!.EnvironmentId);
    }

    [Fact]
    public void The_mail_as_sent_carries_its_cid_images_inside_and_is_otherwise_untouched()
    {
        var message = Open(Mail("""
            <table background=cid:bg><tr><td style="background-image: url('cid:bg')"><IMG SRC="CID:logo%40shop" alt=logo>
            <img src="cid:missing@shop"><img src="cid:vector"><script>alert(1)</script>
            """, build: b =>
        {
            b.LinkedResources.Add("logo.png", [137, 80, 78, 71], ContentType.Parse("image/png")).ContentId = "logo@shop";
            b.LinkedResources.Add("bg.gif", [71, 73, 70], ContentType.Parse("image/gif")).ContentId = "bg";
            b.LinkedResources.Add("v.svg", "<svg onload=alert(1)/>"u8.ToArray(), ContentType.Parse("image/svg+xml")).ContentId = "vector";
        }));

        // Where HTML names a resource (an attribute, quoted or not, or CSS url()): raster images only; the rest stays as sent.
        Assert.Equal("""
            <table background=data:image/gif;base64,R0lG><tr><td style="background-image: url('data:image/gif;base64,R0lG')"><IMG SRC="data:image/png;base64,iVBORw==" alt=logo>
            <img src="cid:missing@shop"><img src="cid:vector"><script>alert(1)</script>
            """, message.HtmlAsSentWithEmbeddedImages!.Trim());
    }

    [Fact]
    public void Remote_images_go_through_the_signed_proxy()
    {
        var document = Render("<img src=\"https://cdn.example/logo.png?u=anna%40example.com\"><table><tr><td background=\"http://cdn.example/bg.gif\">x</td></tr></table>");

        var sources = ImageSources(document);
        var proxied = Assert.Single(sources);
        Assert.StartsWith("/inbox/image-proxy?url=", proxied);
        var query = HttpUtility.ParseQueryString(proxied.Split('?')[1]);
        Assert.Equal("https://cdn.example/logo.png?u=anna%40example.com", query["url"]);
        Assert.True(_signer.IsValidImageSignature(query["url"]!, query["exp"], query["sig"]));
        Assert.DoesNotContain("src=\"https://cdn.example", document);
        Assert.Contains("/inbox/image-proxy?url=http%3A%2F%2Fcdn.example%2Fbg.gif", document.Replace("&amp;", "&"));
    }

    [Fact]
    public void Blocked_remote_images_never_reference_the_proxy()
    {
        var message = Mail("<img src=\"https://cdn.example/logo.png\"><p style=\"background-image: url('https://cdn.example/bg.png')\">x</p>");

        var rendered = Open(message).RenderHtml(new InboxLinks(_signer.Grant(MessageId, EnvironmentId, UserId)), blockRemoteImages: true)!;

        Assert.DoesNotContain("image-proxy", rendered.Document);
        Assert.DoesNotContain("cdn.example", rendered.Document);
        Assert.Equal(2, rendered.RemoteResources);
    }

    [Fact]
    public void Relative_and_non_image_data_urls_are_dropped()
    {
        var document = Render("<img src=\"/api/v1/messages\"><img src=\"data:text/html;base64,PHNjcmlwdD4=\"><img src=\"data:image/png;base64,iVBORw0KGgo=\">");

        Assert.Equal(["data:image/png;base64,iVBORw0KGgo="], ImageSources(document));
    }

    [Fact]
    public void Image_signatures_do_not_carry_over_to_another_url_or_key()
    {
        var url = "https://cdn.example/a.png";
        var query = HttpUtility.ParseQueryString(_signer.ImageProxyUrl(url).Split('?')[1]);
        var (expires, signature) = (query["exp"], query["sig"]);
        var otherKey = new PreviewLinkSigner(new byte[32], TimeProvider.System);

        Assert.True(_signer.IsValidImageSignature(url, expires, signature));
        Assert.False(_signer.IsValidImageSignature("https://cdn.example/b.png", expires, signature));
        Assert.False(_signer.IsValidImageSignature(url, (long.Parse(expires!) + 3600).ToString(), signature));
        Assert.False(otherKey.IsValidImageSignature(url, expires, signature));
        Assert.False(_signer.IsValidImageSignature(url, expires, null));
        Assert.False(_signer.IsValidImageSignature(url, null, signature));
    }

    [Fact]
    public void Image_proxy_urls_expire_with_the_preview()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var signer = new PreviewLinkSigner(new byte[32], clock);
        var url = "https://cdn.example/a.png";
        var query = HttpUtility.ParseQueryString(signer.ImageProxyUrl(url).Split('?')[1]);

        Assert.True(signer.IsValidImageSignature(url, query["exp"], query["sig"]));
        clock.Now += PreviewLinkSigner.GrantLifetime + TimeSpan.FromSeconds(1);
        Assert.False(signer.IsValidImageSignature(url, query["exp"], query["sig"]));
    }

    [Fact]
    public void Grants_are_bound_to_their_message_and_expire()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var signer = new PreviewLinkSigner(new byte[32], clock);
        var grant = signer.Grant(MessageId, EnvironmentId, UserId);

        Assert.Equal(UserId, signer.ReadGrant(MessageId, grant.Token)!.UserId);
        Assert.Null(signer.ReadGrant(MessageId, grant.Token.Replace(UserId.ToString("N"), Guid.NewGuid().ToString("N"))));
        Assert.Null(signer.ReadGrant(Guid.NewGuid(), grant.Token));
        Assert.Null(signer.ReadGrant(MessageId, grant.Token.Replace(EnvironmentId.ToString("N"), Guid.NewGuid().ToString("N"))));
        Assert.Null(signer.ReadGrant(MessageId, "garbage"));
        clock.Now += PreviewLinkSigner.GrantLifetime + TimeSpan.FromSeconds(1);
        Assert.Null(signer.ReadGrant(MessageId, grant.Token));
    }

    [Fact]
    public void Plain_tab_uses_the_text_part_or_says_it_was_derived_from_html()
    {
        var withText = Open(Mail("<p>html</p>", text: "Hello Anna,\nyour order shipped.")).Plain!;
        var htmlOnly = Open(Mail(
            "<html><head><style>p{}</style><script>x()</script></head><body><h1>Welcome</h1><p>Hello&nbsp;Anna,<br>your order <b>shipped</b>.</p>" +
            "<ul><li>Boots</li><li>Hat</li></ul><p><a href=\"https://shop.example/track\">Track it</a></p></body></html>")).Plain!;

        Assert.False(withText.DerivedFromHtml);
        Assert.Equal("Hello Anna,\nyour order shipped.", withText.Text.Trim());
        Assert.True(htmlOnly.DerivedFromHtml);
        Assert.Equal("Welcome\n\nHello Anna,\nyour order shipped.\n\n- Boots\n- Hat\n\nTrack it (https://shop.example/track)", htmlOnly.Text);
    }

    [Fact]
    public void Headers_keep_their_order_and_attachments_are_listed_with_safe_names()
    {
        var message = Mail("<p><img src=\"cid:logo\"></p>", text: "x", build: b =>
        {
            b.Attachments.Add("../../etc/in\u0001voice.pdf", new byte[1234], ContentType.Parse("application/pdf"));
            b.LinkedResources.Add("logo.png", new byte[10], ContentType.Parse("image/png")).ContentId = "logo";
        });
        message.Headers.Add("X-Odoo-Template", "sale.order");
        var opened = Open(message);

        var headers = opened.Headers.Select(h => h.Name).ToList();
        var attachments = opened.Attachments;

        Assert.True(headers.IndexOf("From") < headers.IndexOf("X-Odoo-Template"));
        Assert.Contains("MIME-Version", headers);
        Assert.Equal(2, attachments.Count);
        var pdf = Assert.Single(attachments, a => !a.IsInline);
        Assert.Equal("in_voice.pdf", pdf.FileName);
        Assert.Equal(1234, pdf.Size);
        Assert.Equal("application/pdf", pdf.ContentType);
        var logo = Assert.Single(attachments, a => a.IsInline);
        Assert.Equal("logo", logo.ContentId);
        var download = opened.Part(pdf.PartPath)!;
        Assert.Equal("in_voice.pdf", download.FileName);
        Assert.Equal(1234, download.Content.Length);
        Assert.Equal([10], [opened.InlineImage("<logo>")!.Content.Length]);
        Assert.Null(opened.InlineImage(pdf.PartPath));
    }

    private static List<string> ImageSources(string document) =>
        [.. new AngleSharp.Html.Parser.HtmlParser().ParseDocument(document).Images.Select(i => i.GetAttribute("src")).OfType<string>()];

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}
