using Mailtest.Tests.Infrastructure;
using Microsoft.Playwright;
using MimeKit;

namespace Mailtest.Tests.Inbox;

/// <summary>
/// One realistic message through every preview tab in real Chromium, as a reader uses them; the
/// screenshots it takes are the ones in docs/screenshots (set MAILTEST_SCREENSHOTS to write them there).
/// </summary>
[TestCategory(Needs.Browser)]
public sealed class InboxPreviewBrowserTests(InboxSite site, ChromiumBrowser chromium) : IClassFixture<InboxSite>
{
    private static readonly byte[] Logo = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAGElEQVR42mNk+M9AEmAcVTCqYFTBqAIcAAB3DR/xiWcNOQAAAABJRU5ErkJggg==");

    private static readonly string ScreenshotDirectory =
        Environment.GetEnvironmentVariable("MAILTEST_SCREENSHOTS") ?? Path.Combine(Path.GetTempPath(), "mailtest-screenshots");

    private static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDirectory, $"inbox-{name}.png"), Animations = ScreenshotAnimations.Disabled });

    private static MimeMessage OrderConfirmation(string subject)
    {
        var body = new BodyBuilder
        {
            HtmlBody = """
                <html><head><style>.box { font-family: Arial, sans-serif; max-width: 560px; margin: 0 auto; padding: 24px; border: 1px solid #ddd; }
                h1 { color: #714B67; font-size: 22px } .total { font-weight: bold } .cta { background: #714B67; color: #fff; padding: 10px 16px; text-decoration: none; border-radius: 4px }</style></head>
                <body><div class="box"><img src="cid:logo@shop" alt="logo" width="48" height="48">
                <h1>Thank you for your order S00042</h1><p>Hello Anna,</p><p>Your order is confirmed and will ship tomorrow.</p>
                <table width="100%"><tr><td>Boots</td><td align="right">€89.00</td></tr><tr><td>Hat</td><td align="right">€19.00</td></tr>
                <tr class="total"><td>Total</td><td align="right">€108.00</td></tr></table>
                <p><img src="https://cdn.shop.example/banner.png" alt="banner" width="200" height="20"></p>
                <p><a class="cta" href="https://shop.example/my/orders/42">View your order</a></p></div></body></html>
                """,
            TextBody = "Hello Anna,\n\nYour order S00042 is confirmed and will ship tomorrow.\nTotal: €108.00\n\nView it at https://shop.example/my/orders/42\n",
        };
        body.LinkedResources.Add("logo.png", Logo, ContentType.Parse("image/png")).ContentId = "logo@shop";
        body.Attachments.Add("S00042.pdf", "%PDF-1.4 fake invoice"u8.ToArray(), ContentType.Parse("application/pdf"));
        var message = new MimeMessage { Subject = subject, Body = body.ToMessageBody() };
        message.From.Add(new MailboxAddress("My Shop", "orders@shop.example"));
        message.To.Add(new MailboxAddress("Anna", "anna@example.com"));
        message.ReplyTo.Add(MailboxAddress.Parse("support@shop.example"));
        message.Headers.Add("List-Unsubscribe", "<https://shop.example/unsubscribe>");
        return message;
    }

    [Fact]
    public async Task Each_preview_tab_shows_what_a_reader_needs()
    {
        var subject = $"Order S00042 confirmed {Guid.NewGuid():N}"[..32];
        await site.SendAsync(site.Dev, MimeKitSample("Your password reset link", "Click https://shop.example/reset to choose a new password."));
        await site.SendAsync(site.Staging, OrderConfirmation(subject), ["anna@example.com", "audit-bcc@shop.example"]);
        await using var context = await chromium.NewContextAsync(new() { ViewportSize = new() { Width = 1400, Height = 900 }, Permissions = ["clipboard-read", "clipboard-write"] });
        var page = await site.SignInToInboxAsync(context);
        var row = page.Locator(".inbox-message", new() { HasText = subject });

        // List: unread until opened; opening marks it read.
        Assert.Equal("true", await row.GetAttributeAsync("data-unread"));
        await row.ClickAsync();
        await Assertions.Expect(row).ToHaveAttributeAsync("data-unread", "false");

        // HTML: the sanitized mail, its cid: logo from the message itself, the remote banner through the proxy.
        var frame = page.FrameLocator("#inbox-html-frame");
        await Assertions.Expect(frame.Locator("h1")).ToHaveTextAsync("Thank you for your order S00042");
        await Assertions.Expect(frame.Locator("img[alt=logo]")).ToHaveJSPropertyAsync("naturalWidth", 16);
        Assert.StartsWith("/inbox/image-proxy?url=", await frame.Locator("img[alt=banner]").GetAttributeAsync("src"));
        await ScreenshotAsync(page, "html");
        await page.Locator("#inbox-remote-images").UncheckAsync();
        await Assertions.Expect(page.Locator("#inbox-html-frame")).ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("remote=blocked"));
        await Assertions.Expect(frame.Locator("img[alt=banner]")).Not.ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("."));
        await page.Locator("#inbox-width-phone").ClickAsync();
        // The new width comes back from the server (a Blazor round trip after the click): wait for it, then measure it.
        await Assertions.Expect(page.Locator("#inbox-html-frame")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\binbox-html__frame--phone\b"));
        Assert.Equal(375, await page.Locator("#inbox-html-frame").EvaluateAsync<int>("f => f.getBoundingClientRect().width"));
        await ScreenshotAsync(page, "html-phone");
        await page.Locator("#inbox-width-full").ClickAsync();

        // Plain.
        await page.Locator(".mud-tab", new() { HasText = "Plain" }).ClickAsync();
        await Assertions.Expect(page.Locator("#inbox-plain")).ToContainTextAsync("Your order S00042 is confirmed");
        await ScreenshotAsync(page, "plain");

        // Headers: envelope first (the Bcc recipient shows), then every header.
        await page.Locator(".mud-tab", new() { HasText = "Headers" }).ClickAsync();
        var headers = page.Locator("#inbox-headers");
        await Assertions.Expect(headers.Locator("tr").Nth(1)).ToContainTextAsync("audit-bcc@shop.example");
        await Assertions.Expect(headers).ToContainTextAsync("List-Unsubscribe");
        await Assertions.Expect(headers).ToContainTextAsync("support@shop.example");
        await ScreenshotAsync(page, "headers");

        // Raw: the source, copied to the clipboard with one click.
        await page.Locator(".mud-tab", new() { HasText = "Raw" }).ClickAsync();
        await Assertions.Expect(page.Locator("#inbox-raw")).ToContainTextAsync($"Subject: {subject}");
        await page.Locator("#inbox-raw-copy").ClickAsync();
        await Assertions.Expect(page.Locator("#inbox-raw-copy")).ToHaveTextAsync("Copied");
        Assert.Contains($"Subject: {subject}", await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        var rawDownload = await page.RunAndWaitForDownloadAsync(() => page.Locator("#inbox-raw-download").ClickAsync());
        Assert.EndsWith(".eml", rawDownload.SuggestedFilename);
        await ScreenshotAsync(page, "raw");

        // Attachments: the PDF as a download, the logo listed as inline.
        await page.Locator(".mud-tab", new() { HasText = "Attachments (2)" }).ClickAsync();
        var attachments = page.Locator("#inbox-attachments tbody tr");
        await Assertions.Expect(attachments).ToHaveCountAsync(2);
        await Assertions.Expect(attachments.Filter(new() { HasText = "logo.png" })).ToContainTextAsync("inline");
        var pdf = attachments.Filter(new() { HasText = "S00042.pdf" });
        await Assertions.Expect(pdf).ToContainTextAsync("application/pdf");
        var download = await page.RunAndWaitForDownloadAsync(() => pdf.Locator("a").ClickAsync());
        Assert.Equal("S00042.pdf", download.SuggestedFilename);
        Assert.Equal("%PDF-1.4 fake invoice", await File.ReadAllTextAsync((await download.PathAsync())!));
        await ScreenshotAsync(page, "attachments");

        // Mark unread / read, and mark all read.
        await page.Locator("#inbox-toggle-read").ClickAsync();
        await Assertions.Expect(row).ToHaveAttributeAsync("data-unread", "true");
        await page.Locator("#inbox-mark-all-read").ClickAsync();
        await Assertions.Expect(page.Locator(".inbox-message[data-unread=true]")).ToHaveCountAsync(0);

        // Dark mode: the layout's toggle restyles the inbox; the mail keeps its white page.
        await page.Locator(".mud-tab", new() { HasText = "HTML" }).ClickAsync();
        var list = page.Locator(".inbox-list");
        var lightBackground = await list.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor");
        await page.Locator("button[aria-label='Toggle dark mode']").ClickAsync();
        // The theme changes after a round trip to the server: wait until the list is restyled, then judge it.
        await Assertions.Expect(list).Not.ToHaveCSSAsync("background-color", lightBackground);
        Assert.NotEqual("rgb(255, 255, 255)", await list.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
        await Assertions.Expect(page.Locator("#inbox-html-frame")).ToHaveCSSAsync("background-color", "rgb(255, 255, 255)");
        await ScreenshotAsync(page, "dark");
    }

    [Fact]
    public async Task A_new_user_is_told_where_to_send_the_first_message()
    {
        var (email, username) = await site.NewcomerAsync();
        await using var context = await chromium.NewContextAsync();
        var page = await site.SignInToInboxAsync(context, email);

        var empty = page.Locator("#inbox-empty");
        await Assertions.Expect(empty).ToContainTextAsync("No mail captured yet");
        await Assertions.Expect(empty).ToContainTextAsync("mail.acme.test");
        await Assertions.Expect(empty).ToContainTextAsync("587");
        await Assertions.Expect(empty).ToContainTextAsync(username);
        await ScreenshotAsync(page, "empty");
    }

    private static MimeMessage MimeKitSample(string subject, string text)
    {
        var message = new MimeMessage { Subject = subject, Body = new TextPart("plain") { Text = text } };
        message.From.Add(new MailboxAddress("My Shop", "noreply@shop.example"));
        message.To.Add(new MailboxAddress("Bob", "bob@example.com"));
        return message;
    }
}
