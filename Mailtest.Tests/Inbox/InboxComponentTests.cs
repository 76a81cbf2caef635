using Mailtest.Tests.Infrastructure;
using Bunit;
using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Preview;
using Mailtest.Web.Components.Inbox;
using Mailtest.Web.Inbox;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using MudBlazor.Services;

namespace Mailtest.Tests.Inbox;

/// <summary>The inbox's components on their own (bUnit): what the list, the preview tabs and the delete dialog show and do.</summary>
[TestCategory(Needs.Unit)]
public sealed class InboxComponentTests : BunitContext
{
    private readonly PreviewLinkSigner _signer = new(new byte[32], TimeProvider.System);

    public InboxComponentTests()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
    }

    private static MessageListItem Item(string subject, bool isRead = false, int attachments = 0, DateTime? received = null) =>
        new(Guid.NewGuid(), Guid.NewGuid(), received ?? DateTime.UtcNow, "bounce@shop.example", "anna@example.com,bcc@example.com",
            "Shop <orders@shop.example>", "anna@example.com", subject, attachments, isRead, 1234, null);

    [Fact]
    public void List_shows_sender_subject_recipients_attachment_marker_and_unread_state()
    {
        var unread = Item("Your invoice", attachments: 2);
        var read = Item("", isRead: true);

        var list = Render<MessageList>(p => p.Add(x => x.Items, [unread, read]).Add(x => x.SelectedId, read.Id));

        var rows = list.FindAll(".inbox-message");
        Assert.Equal(2, rows.Count);
        Assert.Contains("Shop <orders@shop.example>", rows[0].TextContent);
        Assert.Contains("Your invoice", rows[0].TextContent);
        Assert.Contains("To: anna@example.com", rows[0].TextContent);
        Assert.Equal("true", rows[0].GetAttribute("data-unread"));
        Assert.NotNull(rows[0].QuerySelector(".inbox-message__attachment"));
        Assert.Contains("(no subject)", rows[1].TextContent);
        Assert.Equal("false", rows[1].GetAttribute("data-unread"));
        Assert.Null(rows[1].QuerySelector(".inbox-message__attachment"));
        Assert.Contains("inbox-message--selected", rows[1].ClassName);
        Assert.Empty(list.FindAll("#inbox-load-more"));
    }

    [Fact]
    public void List_reports_the_clicked_message_and_asks_for_the_next_page()
    {
        var first = Item("First");
        Guid? selected = null;
        var loadMore = 0;
        var list = Render<MessageList>(p => p
            .Add(x => x.Items, [first])
            .Add(x => x.HasMore, true)
            .Add(x => x.OnSelect, id => selected = id)
            .Add(x => x.OnLoadMore, () => loadMore++));

        list.Find(".inbox-message").Click();
        list.Find("#inbox-load-more").Click();

        Assert.Equal(first.Id, selected);
        Assert.Equal(1, loadMore);
    }

    [Fact]
    public void Empty_list_says_so()
    {
        var list = Render<MessageList>(p => p.Add(x => x.Items, []).Add(x => x.EmptyText, "No messages match your search."));

        Assert.Equal("No messages match your search.", list.Find(".inbox-list__none").TextContent);
    }

    private OpenedMessage Open(MimeMessage mime, string envelopeTo = "anna@example.com,hidden@example.com") =>
        OpenedMessages.Open(mime, _signer, envelopeTo: envelopeTo);

    private readonly Dictionary<Guid, InboxLinks> _links = [];

    // Minted once per message, as the inbox does: a second grant a second later would carry another expiry.
    private InboxLinks Links(OpenedMessage message) =>
        _links.TryGetValue(message.Summary.Id, out var links) ? links
            : _links[message.Summary.Id] = new(_signer.Grant(message.Summary.Id, message.Summary.EnvironmentId, Guid.Empty));

    private IRenderedComponent<MessagePreview> RenderPreview(OpenedMessage message, int tab, bool blockRemote = false) =>
        Render<MessagePreview>(p => p.Add(x => x.Message, message).Add(x => x.Links, Links(message)).Add(x => x.ActiveTab, tab).Add(x => x.BlockRemoteImages, blockRemote));

    [Fact]
    public void Html_tab_is_a_sandboxed_frame_on_the_signed_preview_document()
    {
        var message = Open(MessagePreviewRendererTests.Mail("<p>Hello</p>", "Hello"));

        var frame = RenderPreview(message, tab: 0).Find("iframe#inbox-html-frame");

        Assert.Equal("allow-popups allow-popups-to-escape-sandbox", frame.GetAttribute("sandbox"));
        Assert.DoesNotContain("allow-scripts", frame.GetAttribute("sandbox"));
        Assert.Equal(Links(message).HtmlDocument(false), frame.GetAttribute("src"));
        Assert.Equal(Links(message).HtmlDocument(true), RenderPreview(message, tab: 0, blockRemote: true).Find("iframe").GetAttribute("src"));
    }

    [Fact]
    public void Plain_tab_says_when_the_text_was_made_from_the_html()
    {
        var htmlOnly = RenderPreview(Open(MessagePreviewRendererTests.Mail("<h1>Welcome</h1><p>Anna</p>")), tab: 1);
        var withText = RenderPreview(Open(MessagePreviewRendererTests.Mail("<p>x</p>", "Plain hello")), tab: 1);

        Assert.Equal("Welcome\n\nAnna", htmlOnly.Find("#inbox-plain").TextContent);
        Assert.NotNull(htmlOnly.Find("#inbox-plain-derived"));
        Assert.Equal("Plain hello", withText.Find("#inbox-plain").TextContent.Trim());
        Assert.Empty(withText.FindAll("#inbox-plain-derived"));
    }

    [Fact]
    public void Headers_tab_shows_the_envelope_then_every_header()
    {
        var mime = MessagePreviewRendererTests.Mail(null, "x");
        mime.Headers.Add("List-Unsubscribe", "<https://shop.example/unsub>");

        var rows = RenderPreview(Open(mime, envelopeTo: "anna@example.com,hidden-bcc@example.com"), tab: 2).FindAll("#inbox-headers tr");

        Assert.Equal("Envelope sender", rows[0].QuerySelector("th")!.TextContent);
        Assert.Equal("bounce@shop.example", rows[0].QuerySelector("td")!.TextContent);
        Assert.Contains("hidden-bcc@example.com", rows[1].TextContent);
        Assert.Contains(rows, r => r.TextContent.Contains("List-Unsubscribe") && r.TextContent.Contains("https://shop.example/unsub"));
        Assert.Contains(rows, r => r.QuerySelector("th")?.TextContent == "Subject");
    }

    [Fact]
    public void Raw_tab_shows_the_source_with_copy_and_download()
    {
        var message = Open(MessagePreviewRendererTests.Mail(null, "Raw body line"));
        var copied = 0;

        var preview = Render<MessagePreview>(p => p.Add(x => x.Message, message).Add(x => x.Links, Links(message)).Add(x => x.ActiveTab, 3).Add(x => x.OnCopyRaw, () => copied++));
        preview.Find("#inbox-raw-copy").Click();

        Assert.Contains("Subject: Hello", preview.Find("#inbox-raw").TextContent);
        Assert.Contains("Raw body line", preview.Find("#inbox-raw").TextContent);
        Assert.Equal(Links(message).Raw, preview.Find("#inbox-raw-download").GetAttribute("href"));
        Assert.Equal(1, copied);
    }

    [Fact]
    public void Attachments_tab_lists_name_type_size_and_download_link()
    {
        var message = Open(MessagePreviewRendererTests.Mail("<img src=\"cid:logo\">", "x", b =>
        {
            b.Attachments.Add("invoice.pdf", new byte[2048], ContentType.Parse("application/pdf"));
            b.LinkedResources.Add("logo.png", new byte[10], ContentType.Parse("image/png")).ContentId = "logo";
        }));

        var preview = RenderPreview(message, tab: 4);
        var rows = preview.FindAll("#inbox-attachments tbody tr");

        Assert.Equal(2, rows.Count);
        var invoice = rows.Single(r => r.TextContent.Contains("invoice.pdf"));
        Assert.Contains("application/pdf", invoice.TextContent);
        Assert.Contains("2 KB", invoice.TextContent);
        Assert.StartsWith(Links(message).Part(invoice.GetAttribute("data-part")!), invoice.QuerySelector("a")!.GetAttribute("href"));
        Assert.Contains("inline", rows.Single(r => r.TextContent.Contains("logo.png")).TextContent);
    }

    [Fact]
    public void Clicking_a_tab_reports_it()
    {
        var tabs = new List<int>();
        var message = Open(MessagePreviewRendererTests.Mail("<p>x</p>", "x"));
        var preview = Render<MessagePreview>(p => p
            .Add(x => x.Message, message).Add(x => x.Links, Links(message))
            .Add(x => x.ActiveTabChanged, tab => tabs.Add(tab)));

        preview.FindAll(".mud-tab").Single(t => t.TextContent.Trim() == "Headers").Click();

        Assert.Equal([2], tabs);
    }

    [Fact]
    public void Delete_dialog_asks_first_and_confirms_or_cancels()
    {
        var confirmed = 0;
        var cancelled = 0;
        var hidden = Render<ConfirmDeleteDialog>(p => p.Add(x => x.Visible, false));
        var dialog = Render<ConfirmDeleteDialog>(p => p
            .Add(x => x.Visible, true).Add(x => x.Subject, "Your invoice")
            .Add(x => x.OnConfirm, () => confirmed++).Add(x => x.OnCancel, () => cancelled++));

        Assert.Empty(hidden.FindAll("[role=dialog]"));
        Assert.Contains("“Your invoice” will be deleted", dialog.Find("[role=dialog]").TextContent);
        dialog.Find("#inbox-delete-cancel").Click();
        dialog.Find("#inbox-delete-confirm").Click();
        Assert.Equal(1, cancelled);
        Assert.Equal(1, confirmed);
    }
}
