using Mailtest.Tests.Infrastructure;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Messages;
using MimeKit;

namespace Mailtest.Tests.Api;

/// <summary>The messages API over real HTTP against the real host, with mail captured over real SMTP.</summary>
[TestCategory(Needs.Host)]
public sealed class MessagesApiTests(ApiSite site) : IClassFixture<ApiSite>
{
    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        Assert.True(expected == response.StatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<string> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;
    }

    private static string[] Subjects(JsonElement list) =>
        [.. list.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("subject").GetString()!)];

    [Fact]
    public async Task The_list_pages_newest_first_with_a_cursor_counts_and_searches_with_the_inbox_syntax()
    {
        var scene = await site.SceneAsync();
        await scene.SendAsync("Order 1 confirmed", "Thanks for order one.");
        await scene.SendAsync("Order 2 shipped", "Your parcel is on its way.", to: "bob@example.com");
        await scene.SendAsync("Password reset", "Reset link: https://shop.example/reset?token=abc");

        var first = await JsonAsync(await scene.Read.GetAsync(scene.Messages + "?limit=2"));
        Assert.Equal(["Password reset", "Order 2 shipped"], Subjects(first));
        Assert.Equal((3, 3, 3), (first.GetProperty("total").GetInt32(), first.GetProperty("unread").GetInt32(), first.GetProperty("matching").GetInt32()));
        var cursor = first.GetProperty("nextCursor").GetString()!;
        var second = await JsonAsync(await scene.Read.GetAsync(scene.Messages + "?limit=2&cursor=" + Uri.EscapeDataString(cursor)));
        Assert.Equal(["Order 1 confirmed"], Subjects(second));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);

        var search = await JsonAsync(await scene.Read.GetAsync(scene.Messages + "?query=" + Uri.EscapeDataString("subject:order -to:bob")));
        Assert.Equal(["Order 1 confirmed"], Subjects(search));
        Assert.Equal((3, 1), (search.GetProperty("total").GetInt32(), search.GetProperty("matching").GetInt32()));
        var item = search.GetProperty("messages")[0];
        Assert.Equal("shop@example.com", item.GetProperty("envelope").GetProperty("from").GetString());
        Assert.Equal(["alice@example.com"], item.GetProperty("envelope").GetProperty("to").EnumerateArray().Select(e => e.GetString()));
        Assert.False(item.GetProperty("isRead").GetBoolean());

        Assert.Contains("cursor", await ProblemAsync(await scene.Read.GetAsync(scene.Messages + "?cursor=bogus"), HttpStatusCode.BadRequest));
        Assert.Contains("limit", await ProblemAsync(await scene.Read.GetAsync(scene.Messages + "?limit=0"), HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task A_message_reads_whole_and_as_raw_headers_text_sanitized_html_and_part_downloads()
    {
        var scene = await site.SceneAsync();
        var eml = SampleMail.WithAttachments("Invoice INV/2026/0042");
        await site.SendAsync(scene.Smtp, MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(eml))), ["bob@example.com", "hidden-bcc@example.com"]);
        var id = (await JsonAsync(await scene.Read.GetAsync(scene.Messages))).GetProperty("messages")[0].GetProperty("id").GetGuid();
        var path = $"{scene.Messages}/{id}";

        var detail = await JsonAsync(await scene.Read.GetAsync(path));
        Assert.Equal("Invoice INV/2026/0042", detail.GetProperty("subject").GetString());
        Assert.Equal(["bob@example.com", "hidden-bcc@example.com"], detail.GetProperty("envelope").GetProperty("to").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("<b>invoice</b>", detail.GetProperty("html").GetString());
        Assert.Contains(detail.GetProperty("headers").EnumerateArray(), h => h.GetProperty("name").GetString() == "Reply-To" && h.GetProperty("value").GetString() == "support@shop.example");
        var attachments = detail.GetProperty("attachments").EnumerateArray().ToList();
        var pdf = Assert.Single(attachments, a => a.GetProperty("contentType").GetString() == "application/pdf");
        Assert.Equal(("INV-2026-0042.pdf", 1000, false), (pdf.GetProperty("fileName").GetString(), pdf.GetProperty("size").GetInt32(), pdf.GetProperty("inline").GetBoolean()));
        Assert.Contains(attachments, a => a.GetProperty("contentId").GetString() == "logo@shop" && a.GetProperty("inline").GetBoolean());

        var raw = await scene.Read.GetAsync(path + "/raw");
        Assert.Equal("message/rfc822", raw.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Subject: Invoice INV/2026/0042", await raw.Content.ReadAsStringAsync());

        var headers = await JsonAsync(await scene.Read.GetAsync(path + "/headers"));
        Assert.Equal("Message-ID", headers.EnumerateArray().Select(h => h.GetProperty("name").GetString()).Single(n => n == "Message-ID"));

        var text = await scene.Read.GetAsync(path + "/text");
        Assert.Equal("text/plain", text.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Your invoice INV/2026/0042 is ready.", await text.Content.ReadAsStringAsync());

        var html = await scene.Read.GetAsync(path + "/html");
        var document = await html.Content.ReadAsStringAsync();
        Assert.Equal("text/html", html.Content.Headers.ContentType?.MediaType);
        Assert.Contains("sandbox", html.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("<b>invoice</b>", document);
        // Read with an environment token (no inbox session), so the cid: image travels inside the document.
        Assert.Contains($"src=\"data:image/png;base64,{Convert.ToBase64String(new byte[300])}\"", document);
        Assert.DoesNotContain("cid:", document);

        var part = await scene.Read.GetAsync($"{path}/parts/{pdf.GetProperty("partId").GetString()}");
        Assert.Equal(HttpStatusCode.OK, part.StatusCode);
        Assert.Equal("attachment", part.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("INV-2026-0042.pdf", part.Content.Headers.ContentDisposition?.FileNameStar ?? part.Content.Headers.ContentDisposition?.FileName);
        Assert.Equal("nosniff", part.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (byte)i), await part.Content.ReadAsByteArrayAsync());

        Assert.Contains("no part 9", await ProblemAsync(await scene.Read.GetAsync(path + "/parts/9"), HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task Latest_is_the_newest_match_of_the_query_wherever_an_id_goes()
    {
        var scene = await site.SceneAsync();
        Assert.Contains("no messages yet", await ProblemAsync(await scene.Read.GetAsync(scene.Messages + "/latest"), HttpStatusCode.NotFound));
        await scene.SendAsync("Welcome aboard", "Hi Alice");
        await scene.SendAsync("Your receipt", "Total 12 EUR");

        Assert.Equal("Your receipt", (await JsonAsync(await scene.Read.GetAsync(scene.Messages + "/latest"))).GetProperty("subject").GetString());
        Assert.Equal("Welcome aboard", (await JsonAsync(await scene.Read.GetAsync(scene.Messages + "/latest?query=subject:welcome"))).GetProperty("subject").GetString());
        Assert.Contains("Total 12 EUR", await scene.Read.GetStringAsync(scene.Messages + "/latest/text"));
        Assert.Contains("No message matches", await ProblemAsync(await scene.Read.GetAsync(scene.Messages + "/latest?query=nothing-like-this"), HttpStatusCode.NotFound));

        Assert.Equal(HttpStatusCode.NoContent, (await scene.Write.DeleteAsync(scene.Messages + "/latest?query=subject:welcome")).StatusCode);
        Assert.Equal(["Your receipt"], Subjects(await JsonAsync(await scene.Read.GetAsync(scene.Messages))));
    }

    [Fact]
    public async Task Read_state_changes_by_ids_by_query_and_for_all()
    {
        var scene = await site.SceneAsync();
        await scene.SendAsync("Alpha");
        await scene.SendAsync("Beta");
        await scene.SendAsync("Gamma");
        var list = await JsonAsync(await scene.Read.GetAsync(scene.Messages));
        var gamma = list.GetProperty("messages")[0].GetProperty("id").GetGuid();

        Assert.Equal(1, (await JsonAsync(await scene.Write.PutAsJsonAsync(scene.Messages, new { read = true, ids = new[] { gamma, Guid.NewGuid() } }))).GetProperty("count").GetInt32());
        Assert.Equal(2, (await JsonAsync(await scene.Read.GetAsync(scene.Messages))).GetProperty("unread").GetInt32());
        Assert.Equal(["Alpha", "Beta"], Subjects(await JsonAsync(await scene.Read.GetAsync(scene.Messages + "?query=is:unread"))).Order());

        await JsonAsync(await scene.Write.PutAsJsonAsync(scene.Messages, new { read = true, query = "subject:beta" }));
        Assert.Equal(["Alpha"], Subjects(await JsonAsync(await scene.Read.GetAsync(scene.Messages + "?query=is:unread"))));

        Assert.Equal(3, (await JsonAsync(await scene.Write.PutAsJsonAsync(scene.Messages, new { read = false }))).GetProperty("count").GetInt32());
        Assert.Equal(3, (await JsonAsync(await scene.Read.GetAsync(scene.Messages))).GetProperty("unread").GetInt32());

        Assert.Contains("\"read\"", await ProblemAsync(await scene.Write.PutAsJsonAsync(scene.Messages, new { ids = new[] { gamma } }), HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Delete_one_by_query_and_all()
    {
        var scene = await site.SceneAsync();
        foreach (var subject in new[] { "Keep me", "Spam 1", "Spam 2", "Other" }) await scene.SendAsync(subject);
        var all = await JsonAsync(await scene.Read.GetAsync(scene.Messages));
        var other = all.GetProperty("messages")[0].GetProperty("id").GetGuid();

        Assert.Equal(HttpStatusCode.NoContent, (await scene.Write.DeleteAsync($"{scene.Messages}/{other}")).StatusCode);
        await ProblemAsync(await scene.Write.DeleteAsync($"{scene.Messages}/{other}"), HttpStatusCode.NotFound);
        Assert.Equal(2, (await JsonAsync(await scene.Write.DeleteAsync(scene.Messages + "?query=subject:spam"))).GetProperty("count").GetInt32());
        Assert.Equal(["Keep me"], Subjects(await JsonAsync(await scene.Read.GetAsync(scene.Messages))));

        Assert.Equal(1, (await JsonAsync(await scene.Write.DeleteAsync(scene.Messages))).GetProperty("count").GetInt32());
        Assert.Equal(0, (await JsonAsync(await scene.Read.GetAsync(scene.Messages))).GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Messages_are_added_as_JSON_or_as_a_raw_eml_through_the_ingest_path()
    {
        var scene = await site.SceneAsync();
        var created = await JsonAsync(await scene.Write.PostAsJsonAsync(scene.Messages, new
        {
            from = new { email = "app@shop.example", name = "Shop" },
            to = new[] { new { email = "alice@example.com" } },
            bcc = new[] { new { email = "audit@example.com" } },
            subject = "Seeded welcome",
            text = "Plain hello",
            html = "<p>Hello <b>Alice</b></p>",
            attachments = new[] { new { fileName = "terms.txt", contentType = "text/plain", content = Convert.ToBase64String("Terms v1"u8.ToArray()) } },
            headers = new Dictionary<string, string> { ["X-Campaign"] = "spring" },
            tags = new[] { "seed" },
        }), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();

        var detail = await JsonAsync(await scene.Read.GetAsync($"{scene.Messages}/{id}"));
        Assert.Equal("Seeded welcome", detail.GetProperty("subject").GetString());
        Assert.Equal(["alice@example.com", "audit@example.com"], detail.GetProperty("envelope").GetProperty("to").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("Plain hello", detail.GetProperty("text").GetString()!.Trim());
        Assert.Contains(detail.GetProperty("headers").EnumerateArray(), h => h.GetProperty("name").GetString() == "X-Campaign");
        Assert.DoesNotContain(detail.GetProperty("headers").EnumerateArray(), h => h.GetProperty("name").GetString() == "Bcc");
        Assert.Equal("terms.txt", Assert.Single(detail.GetProperty("attachments").EnumerateArray()).GetProperty("fileName").GetString());

        using var eml = new StringContent(SampleMail.Plain("Raw seeded", "From a file", to: "carol@example.com"), Encoding.UTF8);
        eml.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        var rawCreated = await JsonAsync(await scene.Write.PostAsync(scene.Messages, eml), HttpStatusCode.Created);
        var raw = await JsonAsync(await scene.Read.GetAsync($"{scene.Messages}/{rawCreated.GetProperty("id").GetGuid()}"));
        Assert.Equal(("Raw seeded", "shop@example.com"), (raw.GetProperty("subject").GetString(), raw.GetProperty("envelope").GetProperty("from").GetString()));

        Assert.Contains("recipient", await ProblemAsync(await scene.Write.PostAsJsonAsync(scene.Messages, new { from = new { email = "a@b.example" }, subject = "x" }), HttpStatusCode.BadRequest));
        Assert.Contains("not an email address", await ProblemAsync(await scene.Write.PostAsJsonAsync(scene.Messages,
            new { from = new { email = "nobody" }, to = new[] { new { email = "a@b.example" } } }), HttpStatusCode.BadRequest));
        using var text = new StringContent("hello", Encoding.UTF8, "text/plain");
        Assert.Contains("message/rfc822", await ProblemAsync(await scene.Write.PostAsync(scene.Messages, text), HttpStatusCode.BadRequest));
        Assert.Equal(2, (await JsonAsync(await scene.Read.GetAsync(scene.Messages))).GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task A_message_over_the_plans_size_limit_is_refused_with_413_and_nothing_is_stored()
    {
        var scene = await site.SceneAsync(Plan.Starter); // 10 MB per message
        var body = "Subject: Too big\r\nFrom: app@shop.example\r\nTo: alice@example.com\r\n\r\n" + new string('x', 11 * 1024 * 1024);
        using var eml = new StringContent(body, Encoding.ASCII);
        eml.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        Assert.Contains("10 MB", await ProblemAsync(await scene.Write.PostAsync(scene.Messages, eml), HttpStatusCode.RequestEntityTooLarge));
        Assert.Equal(0, (await JsonAsync(await scene.Read.GetAsync(scene.Messages))).GetProperty("total").GetInt32());
    }
}
