using Mailtest.Tests.Infrastructure;
using Microsoft.Playwright;
using MimeKit;
using Mailtest.Web.Inbox;

namespace Mailtest.Tests.Inbox;

/// <summary>
/// The inbox in real Chromium against the real host: hostile HTML stays inert and private, mail
/// appears and disappears live, every shortcut works, search narrows the list.
/// </summary>
[TestCategory(Needs.Browser)]
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
        await page.Locator("#inbox[data-interactive=true]").WaitForAsync(new() { Timeout = Wait });
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

    private static string Token() => Guid.NewGuid().ToString("N")[..10];

    private static async Task BlurAsync(IPage page) => await page.EvaluateAsync("() => document.activeElement?.blur()");

    private static async Task<List<string>> SubjectsAsync(IPage page) =>
        [.. (await page.Locator(".inbox-message .inbox-message__subject").AllInnerTextsAsync()).Select(t => t.Trim())];

    private static async Task ExpectSubjectsAsync(IPage page, params string[] expected)
    {
        // The list settles after the debounce and the query: wait for exactly these rows.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        List<string> actual;
        while (!(actual = await SubjectsAsync(page)).Order().SequenceEqual(expected.Order()) && DateTime.UtcNow < deadline)
            await page.WaitForTimeoutAsync(50);
        Assert.Equal(expected.Order(), actual.Order());
    }

    [Fact]
    public async Task Mail_sent_by_smtp_appears_live_and_a_deletion_disappears_from_every_open_inbox()
    {
        var token = Token();
        await using var first = await chromium.NewContextAsync();
        await using var second = await chromium.NewContextAsync();
        var reader = await OpenInboxAsync(first, token);
        var colleague = await OpenInboxAsync(second, token);
        await ExpectSubjectsAsync(reader.Page);

        await site.SendAsync(site.Staging, Mail($"Live {token}", text: "Arrived while the inbox was open"));

        await Row(reader.Page, $"Live {token}").WaitForAsync(new() { Timeout = Wait });
        await Row(colleague.Page, $"Live {token}").WaitForAsync(new() { Timeout = Wait });
        Assert.Equal("true", await Row(reader.Page, token).GetAttributeAsync("data-unread"));

        await Row(reader.Page, token).ClickAsync();
        await reader.Page.Locator("#inbox-delete").ClickAsync();
        await reader.Page.Locator("#inbox-delete-confirm").ClickAsync();

        await Row(colleague.Page, token).WaitForAsync(new() { State = WaitForSelectorState.Detached, Timeout = Wait });
        await Row(reader.Page, token).WaitForAsync(new() { State = WaitForSelectorState.Detached, Timeout = Wait });
        Assert.Empty((await site.Store.ListAsync(new([site.Staging.Id], token))).Items);
    }

    [Fact]
    public async Task Every_keyboard_shortcut_works_and_typing_in_the_search_box_is_not_a_shortcut()
    {
        var token = Token();
        foreach (var name in new[] { "Oldest", "Middle", "Newest" })
            await site.SendAsync(site.Staging, Mail($"{name} {token}", html: $"<p>{name} html</p>", text: $"{name} text"));
        await using var context = await chromium.NewContextAsync();
        var page = (await OpenInboxAsync(context, token)).Page;
        await ExpectSubjectsAsync(page, $"Newest {token}", $"Middle {token}", $"Oldest {token}");
        await BlurAsync(page);
        var selected = page.Locator(".inbox-message--selected .inbox-message__subject");
        var activeTab = page.Locator(".mud-tab.mud-tab-active");

        await page.Keyboard.PressAsync("j");
        await Assertions.Expect(selected).ToHaveTextAsync($"Newest {token}");
        await page.Keyboard.PressAsync("j");
        await Assertions.Expect(selected).ToHaveTextAsync($"Middle {token}");
        await Assertions.Expect(page.Locator(".inbox-preview__subject")).ToHaveTextAsync($"Middle {token}");
        await page.Keyboard.PressAsync("k");
        await Assertions.Expect(selected).ToHaveTextAsync($"Newest {token}");

        await Assertions.Expect(activeTab).ToHaveTextAsync("HTML");
        await page.Keyboard.PressAsync("l");
        await Assertions.Expect(activeTab).ToHaveTextAsync("Plain");
        await Assertions.Expect(page.Locator("#inbox-plain")).ToHaveTextAsync("Newest text");
        await page.Keyboard.PressAsync("h");
        await page.Keyboard.PressAsync("h");
        await Assertions.Expect(activeTab).ToHaveTextAsync("Attachments (0)");

        await page.Keyboard.PressAsync("?");
        await Assertions.Expect(page.Locator("#inbox-help-dialog")).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(page.Locator("#inbox-help-dialog")).ToHaveCountAsync(0);

        await page.Keyboard.PressAsync("/");
        Assert.Equal("inbox-search", await page.EvaluateAsync<string>("() => document.activeElement.id"));
        await page.Keyboard.PressAsync("End");
        await page.Keyboard.TypeAsync("d?");
        Assert.Equal($"{token}d?", await page.Locator("#inbox-search").InputValueAsync());
        await Assertions.Expect(page.Locator("#inbox-delete-dialog")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#inbox-help-dialog")).ToHaveCountAsync(0);
        // The typed text was searched for: nothing matches, and the selection went with the list.
        await ExpectSubjectsAsync(page);
        await page.Locator("#inbox-search").FillAsync(token);
        await ExpectSubjectsAsync(page, $"Newest {token}", $"Middle {token}", $"Oldest {token}");
        await BlurAsync(page);

        await page.Keyboard.PressAsync("j");
        await Assertions.Expect(selected).ToHaveTextAsync($"Newest {token}");
        await page.Keyboard.PressAsync("j");
        await Assertions.Expect(selected).ToHaveTextAsync($"Middle {token}");
        await page.Keyboard.PressAsync("d");
        await Assertions.Expect(page.Locator("#inbox-delete-dialog")).ToContainTextAsync($"Middle {token}");
        await page.Locator("#inbox-delete-confirm").ClickAsync();
        await ExpectSubjectsAsync(page, $"Newest {token}", $"Oldest {token}");
        await Assertions.Expect(selected).ToHaveTextAsync($"Oldest {token}");
        Assert.Equal(2, (await site.Store.ListAsync(new([site.Staging.Id], token))).Items.Count);
    }

    [Fact]
    public async Task Search_finds_by_each_field()
    {
        var token = Token();
        var invoice = Mail($"Invoice {token} ready", text: $"Your parcel zebra{token} is on its way", from: $"billing-{token}@shop.example", to: $"anna-{token}@example.com");
        invoice.Body = new BodyBuilder { TextBody = $"Your parcel zebra{token} is on its way", Attachments = { { "invoice.pdf", new byte[100] } } }.ToMessageBody();
        await site.SendAsync(site.Staging, invoice, [$"anna-{token}@example.com", $"hidden-{token}@example.com"]);
        await site.SendAsync(site.Dev, Mail($"Welcome {token}", text: "Hello there", from: $"hello-{token}@shop.example", to: $"bob-{token}@example.com"));
        await site.SendAsync(site.Foreign, Mail($"Secret {token}", text: "Another organization", to: $"anna-{token}@example.com"));
        await using var context = await chromium.NewContextAsync();
        var page = (await OpenInboxAsync(context)).Page;
        var both = new[] { $"Invoice {token} ready", $"Welcome {token}" };

        var expectations = new (string Query, string[] Subjects)[]
        {
            (token, both),                                              // words, across fields; never the other organization
            ($"INVOICE {token}", [both[0]]),                            // case-insensitive
            ($"from:billing-{token}", [both[0]]),
            ($"to:bob-{token}", [both[1]]),
            ($"to:hidden-{token}", [both[0]]),                          // envelope (Bcc) recipient
            ($"subject:welcome {token}", [both[1]]),
            ($"zebra{token}", [both[0]]),                               // body text
            ($"\"parcel zebra{token}\"", [both[0]]),                    // quoted phrase
            ($"has:attachment {token}", [both[0]]),
            ($"-invoice {token}", [both[1]]),                           // negation
            ($"is:unread {token}", both),
            ($"before:2000-01-01 {token}", []),
            ($"after:2000-01-01 {token}", both),
        };
        foreach (var (query, subjects) in expectations)
        {
            await page.Locator("#inbox-search").FillAsync(query);
            await ExpectSubjectsAsync(page, subjects);
        }

        await page.Locator("#inbox-search").FillAsync(token);
        await ExpectSubjectsAsync(page, both);
        await page.Locator("#inbox-environment").SelectOptionAsync(new SelectOptionValue { Label = "Dev" });
        await ExpectSubjectsAsync(page, both[1]);
        var options = await page.Locator("#inbox-environment option").AllInnerTextsAsync();
        Assert.DoesNotContain(options, o => o.Contains("Secret") || o == "Staging" && options.Count(x => x == "Staging") > 1);
        Assert.Equal(["Acme / Shop"], await page.Locator("#inbox-environment optgroup").EvaluateAllAsync<string[]>("gs => gs.map(g => g.label)"));
    }

    [Fact]
    public async Task Forty_characters_typed_fast_are_exactly_what_the_box_holds_and_searches_for()
    {
        var typed = (Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"))[..40];
        await site.SendAsync(site.Staging, Mail($"Typed {typed}"));
        await site.SendAsync(site.Staging, Mail($"Typed {typed[..20]}")); // matches while typing, not once all 40 are in
        await using var context = await chromium.NewContextAsync();
        var page = (await OpenInboxAsync(context)).Page;
        var box = page.Locator("#inbox-search");
        await box.FocusAsync();

        // No pause between keys: each input event reaches the server while it re-renders after the one before.
        await page.Keyboard.TypeAsync(typed);

        // The box first: had it been garbled, the search below would find nothing, and this says why.
        await Assertions.Expect(box).ToHaveValueAsync(typed);
        await ExpectSubjectsAsync(page, $"Typed {typed}");
        Assert.Equal(typed, await box.InputValueAsync());
    }

    [Fact]
    public async Task Opening_an_unread_message_below_load_older_keeps_both_tabs_lists_and_selections()
    {
        var token = Token();
        await site.SendAllAsync(site.Staging, Enumerable.Range(0, InboxState.PageSize + 5).Select(i => Mail($"Page {token} {i:000}")));
        var newest = $"Page {token} {InboxState.PageSize + 4:000}";
        await site.SendAsync(site.Staging, Mail("Newer, not searched for")); // so the search visibly narrows the list
        await using var context = await chromium.NewContextAsync();
        var first = await site.SignInToInboxAsync(context);
        var second = await context.NewPageAsync(); // a second tab of the same reader
        await second.GotoAsync(site.InboxAddress.ToString());
        await second.Locator("#inbox[data-interactive=true]").WaitForAsync(new() { Timeout = Wait });
        foreach (var page in new[] { first, second })
        {
            await SearchAsync(page, token);
            await UntilAsync(async () => (await SubjectsAsync(page)) is { Count: > 0 } shown && shown.All(subject => subject.Contains(token)));
            if (page == second)
            {
                await Row(second, newest).ClickAsync(); // the colleague's tab has a message open
                await Assertions.Expect(second.Locator(".inbox-preview__subject")).ToHaveTextAsync(newest);
            }
            await page.Locator("#inbox-load-more").ClickAsync();
            await page.Locator("#inbox-load-more").WaitForAsync(new() { State = WaitForSelectorState.Detached, Timeout = Wait });
        }

        var oldest = $"Page {token} 000";
        await ScrollToAsync(first, oldest);
        Assert.Equal("true", await Row(first, oldest).GetAttributeAsync("data-unread"));
        await Row(first, oldest).ClickAsync();

        await Assertions.Expect(first.Locator(".inbox-preview__subject")).ToHaveTextAsync(oldest);
        await Assertions.Expect(Row(first, oldest)).ToHaveAttributeAsync("data-unread", "false");
        await Assertions.Expect(first.Locator(".inbox-message--selected .inbox-message__subject")).ToHaveTextAsync(oldest);
        await ScrollToAsync(second, oldest);
        Assert.Equal(oldest, (await SubjectsAsync(second))[^1]);
        await Assertions.Expect(Row(second, oldest)).ToHaveAttributeAsync("data-unread", "false");
        await Assertions.Expect(second.Locator(".inbox-preview__subject")).ToHaveTextAsync(newest);
        foreach (var page in new[] { first, second })
            await Assertions.Expect(page.Locator("#inbox-load-more")).ToHaveCountAsync(0); // still every page, not page 1 again
        await Assertions.Expect(first.Locator(".inbox-preview__subject")).ToHaveTextAsync(oldest);
        // The read state is the store's, not just the page's.
        Assert.True((await site.Store.GetAsync((await site.FindAsync(site.Staging, oldest)).Id, [site.Staging.Id]))!.IsRead);
    }

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the inbox did not get there within 10 s");
            await Task.Delay(50);
        }
    }

    /// <summary>Scrolls the (virtualized) list down until the row with this subject is rendered.</summary>
    private static async Task ScrollToAsync(IPage page, string subject)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await Row(page, subject).CountAsync() == 0 && DateTime.UtcNow < deadline)
        {
            // Virtualize renders the rows near the visible part once it sees the scroll.
            await page.Locator(".inbox-list").EvaluateAsync("list => list.scrollTop = list.scrollHeight");
            await page.WaitForTimeoutAsync(50);
        }
        await Row(page, subject).ScrollIntoViewIfNeededAsync(new() { Timeout = Wait });
    }
}
