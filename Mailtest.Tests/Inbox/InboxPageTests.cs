using Bunit;
using Mailtest.Core;
using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Preview;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Data;
using Mailtest.Tests.Infrastructure;
using Mailtest.Tests.Messages;
using Mailtest.Web.Accounts;
using Mailtest.Web.Components.Inbox;
using Mailtest.Web.Inbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MudBlazor.Services;

namespace Mailtest.Tests.Inbox;

/// <summary>
/// The whole inbox page (bUnit) over the real store on SQLite and the live bus, with time under the
/// test's control: what a person sees when they search, page back, open a message and mail arrives.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class InboxPageTests : BunitContext, IClassFixture<SqliteCore>
{
    private readonly CoreServices _core;
    private readonly SignedInAs _signedIn = new(new Caller(Guid.Empty, "nobody@example.test", false));
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    public InboxPageTests(SqliteCore fixture)
    {
        _core = fixture.Core;
        JSInterop.Mode = JSRuntimeMode.Loose;
        JSInterop.SetupModule("./inbox.js");
        Services.AddMudServices();
        Services.AddSingleton<TimeProvider>(_time);
        Services.AddSingleton(_core.Get<AccessRules>());
        Services.AddSingleton(_core.Get<CurrentAccess>());
        Services.AddSingleton(_core.Get<IMessageStore>());
        Services.AddSingleton(_core.Get<MessagePreviews>());
        Services.AddSingleton(_core.Get<MessageEvents>());
        Services.AddSingleton(new PreviewLinkSigner(new byte[32], _time));
        Services.AddSingleton(Options.Create(new InboxOptions()));
        Services.AddSingleton(Options.Create(new PublicSmtpOptions()));
        Services.AddSingleton(new CurrentCaller(_signedIn));
        Services.AddScoped<InboxReader>();
    }

    /// <summary>An owner's staging environment holding <paramref name="count"/> messages, oldest first ("Order 000" …).</summary>
    private async Task<(Caller Owner, ProjectEnvironment Staging)> OwnerWithMailAsync(int count)
    {
        var staging = await _core.CreateEnvironmentAsync();
        var tenancy = _core.Get<TenancyAdministration>();
        var owner = await tenancy.CreateUserAsync($"owner-{Guid.NewGuid():N}@example.test", "a long password 1", isPlatformAdmin: false);
        await tenancy.AddMemberAsync(staging.Project!.OrganizationId, owner.Email, OrganizationRole.Owner);
        for (var i = 0; i < count; i++) await _core.IngestAsync(staging, SampleMail.Plain($"Order {i:000}"));
        return (new Caller(owner.Id, owner.Email, false), staging);
    }

    private IRenderedComponent<InboxPage> Open(Caller caller)
    {
        _signedIn.Caller = caller;
        var page = Render<InboxPage>();
        page.WaitForAssertion(() => Assert.Equal("true", page.Find("#inbox").GetAttribute("data-interactive")));
        return page;
    }

    private static IReadOnlyList<string> Subjects(IRenderedComponent<InboxPage> page) =>
        [.. page.FindAll(".inbox-message__subject").Select(s => s.TextContent)];

    [Fact]
    public async Task Typing_a_search_shows_exactly_what_was_typed_and_filters_after_the_pause()
    {
        var (owner, _) = await OwnerWithMailAsync(3);
        var page = Open(owner);
        Assert.Equal(["Order 002", "Order 001", "Order 000"], Subjects(page));

        // The input's handler is the debounced search: it finishes once the pause has passed. Found and dispatched
        // in one go: a live event from the seeding may re-render in between (UnknownEventHandlerIdException in a full run).
        Task typing = Task.CompletedTask;
        await page.InvokeAsync(() => { typing = page.Find("#inbox-search").InputAsync(new() { Value = "Order 001" }); });
        Assert.Equal("Order 001", page.Find("#inbox-search").GetAttribute("value"));
        Assert.Equal(3, Subjects(page).Count); // not yet: the search waits for the typing to pause

        _time.Advance(InboxState.SearchDebounce);
        await typing.WaitAsync(TimeSpan.FromSeconds(10));

        page.WaitForAssertion(() => Assert.Equal(["Order 001"], Subjects(page)));
        Assert.Equal("Order 001", page.Find("#inbox-search").GetAttribute("value"));
    }

    [Fact]
    public async Task Opening_an_unread_message_below_load_older_keeps_the_list_and_shows_the_message()
    {
        var (owner, _) = await OwnerWithMailAsync(InboxState.PageSize + 2);
        var page = Open(owner);
        Assert.Equal(InboxState.PageSize, Subjects(page).Count);

        // Find and click in one dispatch: a live event from the seeding may re-render in between.
        await page.InvokeAsync(() => page.Find("#inbox-load-more").ClickAsync(new()));
        page.WaitForAssertion(() => Assert.Equal(InboxState.PageSize + 2, Subjects(page).Count));
        Assert.Equal("true", page.FindAll(".inbox-message")[^1].GetAttribute("data-unread"));
        await page.InvokeAsync(() => page.FindAll(".inbox-message")[^1].ClickAsync(new()));

        page.WaitForAssertion(() => Assert.Equal("Order 000", page.Find(".inbox-preview__subject").TextContent));
        var rows = page.FindAll(".inbox-message");
        Assert.Equal(InboxState.PageSize + 2, rows.Count);
        Assert.Equal("false", rows[^1].GetAttribute("data-unread"));
        Assert.Contains("inbox-message--selected", rows[^1].ClassName);
        Assert.Empty(page.FindAll("#inbox-load-more"));
    }

    [Fact]
    public async Task Mail_arriving_while_a_message_is_open_goes_on_top_and_the_open_message_stays()
    {
        var (owner, staging) = await OwnerWithMailAsync(2);
        var page = Open(owner);
        // Find and click in one dispatch: a live event from the seeding may re-render in between.
        await page.InvokeAsync(() => page.FindAll(".inbox-message")[1].ClickAsync(new()));
        page.WaitForAssertion(() => Assert.Equal("Order 000", page.Find(".inbox-preview__subject").TextContent));

        await _core.IngestAsync(staging, SampleMail.Plain("Order 002"));

        page.WaitForAssertion(() => Assert.Equal(["Order 002", "Order 001", "Order 000"], Subjects(page)));
        Assert.Equal("Order 000", page.Find(".inbox-preview__subject").TextContent);
        Assert.Contains("inbox-message--selected", page.FindAll(".inbox-message")[2].ClassName);
    }
}
