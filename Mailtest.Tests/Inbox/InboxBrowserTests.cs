using Mailtest.Tests.Infrastructure;
using Microsoft.Playwright;
using MimeKit;

namespace Mailtest.Tests.Inbox;

/// <summary>
/// The inbox in real Chromium against the real host: hostile HTML stays inert and private, mail
/// appears and disappears live, every shortcut works, search narrows the list.
/// </summary>
public sealed class InboxBrowserTests(InboxSite site, ChromiumBrowser chromium) : IClassFixture<InboxSite>
{
    private static readonly float Wait = 10_000;

    public static TheoryData<string> HostileCorpus() =>
        [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "Inbox"), "*.html").Select(f => Path.GetFileName(f)!).Order()];

    /// <summary>A page that records every request, aborts any to another host, and fails on any dialog.</summary>
    private sealed class GuardedPage
    {
        public required IPage Page { get; init; }
        public List<string> Requests { get; } = [];
        public List<string> Foreign { get; } = [];
        public List<string> Dialogs { get; } = [];
    }

    private async Task<GuardedPage> OpenInboxAsync(IBrowserContext context, string? search = null)
    {
        var own = site.WebAddress.Authority;
        var page = await site.SignInToInboxAsync(context);
        var guarded = new GuardedPage { Page = page };
        page.Request += (_, request) => { lock (guarded.Requests) guarded.Requests.Add(request.Url); };
        page.Dialog += async (_, dialog) => { lock (guarded.Dialogs) guarded.Dialogs.Add(dialog.Message); await dialog.DismissAsync(); };
        context.Page += (_, popup) => { lock (guarded.Foreign) guarded.Foreign.Add("popup: " + popup.Url); };
        await context.RouteAsync("**/*", async route =>
        {
            if (Uri.TryCreate(route.Request.Url, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" && url.Authority != own)
            {
                lock (guarded.Foreign) guarded.Foreign.Add(route.Request.Url);
                await route.AbortAsync();
            }
            else await route.ContinueAsync();
        });
        await page.ReloadAsync();
        await page.Locator("#inbox").WaitForAsync(new() { Timeout = Wait });
        if (search is not null) await SearchAsync(page, search);
        return guarded;
    }

    private static async Task SearchAsync(IPage page, string text)
    {
        await page.Locator("#inbox-search").FillAsync(text);
        await page.Locator(".inbox-list").WaitForAsync(new() { Timeout = Wait });
    }

    private static ILocator Row(IPage page, string subject) => page.Locator(".inbox-message", new() { HasText = subject });

    private static MimeMessage Mail(string subject, string? html = null, string? text = null, string from = "orders@shop.example", string to = "anna@example.com")
    {
        var message = new MimeMessage { Subject = subject };
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Body = new BodyBuilder { HtmlBody = html, TextBody = text ?? (html is null ? "Hello" : null) }.ToMessageBody();
        return message;
    }

    [Theory]
    [MemberData(nameof(HostileCorpus))]
    public async Task Hostile_html_renders_without_script_parent_access_or_foreign_requests(string file)
    {
        var html = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "TestData", "Inbox", file));
        var subject = $"Hostile {file} {Guid.NewGuid():N}";
        await site.SendAsync(site.Staging, Mail(subject, html));
        await using var context = await chromium.NewContextAsync();
        var guarded = await OpenInboxAsync(context, subject);
        var page = guarded.Page;

        await Row(page, subject).ClickAsync();
        var frame = page.FrameLocator("#inbox-html-frame");
        await frame.Locator("text=HOSTILE-OK").WaitForAsync(new() { Timeout = Wait });
        // By the frame's load event every script, handler and image of the document has had its chance.
        var frameDocument = await (await page.Locator("#inbox-html-frame").ElementHandleAsync()).ContentFrameAsync();
        await frameDocument!.WaitForLoadStateAsync(LoadState.Load, new() { Timeout = Wait });
        // Try what a reader might do: click every link, button and control the mail shows.
        foreach (var element in await frame.Locator("a, button, input, [onclick], #click-me").AllAsync())
            await element.ClickAsync(new() { Timeout = 2_000, Force = true });

        Assert.Empty(guarded.Dialogs);
        Assert.Empty(guarded.Foreign);
        Assert.True(await page.EvaluateAsync<bool>("() => window.__pwned === undefined && document.body.dataset.pwned === undefined"), "a script in the mail reached the inbox page");
        // The frame is another (opaque) origin: the inbox page cannot reach into it, nor it into the page.
        Assert.True(await page.EvaluateAsync<bool>("() => document.getElementById('inbox-html-frame').contentDocument === null"));
        var sandbox = await page.Locator("#inbox-html-frame").GetAttributeAsync("sandbox");
        Assert.DoesNotContain("allow-scripts", sandbox);
        Assert.DoesNotContain("allow-same-origin", sandbox);
        // Everything the frame loaded came from our own server: its document, its own parts, the image proxy.
        var frameRequests = guarded.Requests.Where(r => r.Contains("/inbox/")).ToList();
        Assert.All(guarded.Requests, r => Assert.StartsWith(site.WebAddress.ToString(), r));
        Assert.All(frameRequests, r => Assert.Matches(@"/inbox/(messages/[0-9a-f]{32}/(html|cid/)|image-proxy\?)", r));
        Assert.True(await frame.Locator("script, iframe, form, input, object, embed, svg, base, meta[http-equiv]").CountAsync() == 0);
    }
}
