using System.Text.RegularExpressions;
using System.Text.Json;
using Mailtest.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Mailtest.Tests.Api;

/// <summary>What only a browser shows: the API reference page renders, and EventSource follows an environment live.</summary>
[TestCategory(Needs.Browser)]
public sealed class ApiBrowserTests(ApiSite site, ChromiumBrowser chromium) : IClassFixture<ApiSite>
{
    [Fact]
    public async Task The_API_reference_renders_the_documented_operations()
    {
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(site.WebAddress, "api/reference").ToString());
        // Rendered from the OpenAPI document: the introduction's examples and the endpoint groups.
        await page.GetByText("wait for the password-reset mail").First.WaitForAsync(new() { Timeout = 30_000 });
        foreach (var group in new[] { "Messages", "Live events", "Environment tokens" })
            await page.GetByText(group, new() { Exact = true }).First.WaitForAsync();
    }

    [Fact]
    public async Task EventSource_in_a_signed_in_page_receives_captures_and_resumes_after_its_last_event_id_without_a_gap()
    {
        var scene = await site.SceneAsync();
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(site.WebAddress, "signin").ToString());
        await page.Locator("#email").FillAsync(scene.OwnerEmail);
        await page.Locator("#password").FillAsync(ApiSite.OwnerPassword);
        await page.Locator("button[type=submit]").ClickAsync();
        await page.UntilAtAsync(new Regex("^(?!.*/signin)"));

        var url = $"/api/v1/environments/{scene.StagingId}/events";
        await OpenAsync(page, url);
        await scene.SendAsync("Seen live");
        var first = await NextCapturedAsync(page, 1);
        Assert.Equal("Seen live", first.Subject);

        // The page goes away; mail keeps coming; it comes back with the last id it saw.
        await page.EvaluateAsync("() => window.mailtestEvents.source.close()");
        await scene.SendAsync("While closed 1");
        await scene.SendAsync("While closed 2");
        await OpenAsync(page, $"{url}?lastEventId={first.Id}");
        await scene.SendAsync("After reopening");

        var subjects = new List<string>();
        for (var i = 1; i <= 3; i++) subjects.Add((await NextCapturedAsync(page, i)).Subject);
        Assert.Equal(["While closed 1", "While closed 2", "After reopening"], subjects);
    }

    private static async Task OpenAsync(IPage page, string url)
    {
        await page.EvaluateAsync("""
            url => new Promise((resolve, reject) => {
              const source = new EventSource(url);
              window.mailtestEvents = { source, captured: [] };
              source.addEventListener('captured', e => window.mailtestEvents.captured.push({ id: e.lastEventId, data: e.data }));
              source.addEventListener('ready', () => resolve());
              source.onerror = () => reject(new Error('EventSource failed: ' + source.readyState));
            })
            """, url);
    }

    private static async Task<(string Id, string Subject)> NextCapturedAsync(IPage page, int count)
    {
        await page.WaitForFunctionAsync($"() => window.mailtestEvents.captured.length >= {count}", null, new() { Timeout = 30_000 });
        var item = await page.EvaluateAsync<JsonElement>($"() => window.mailtestEvents.captured[{count - 1}]");
        var data = JsonDocument.Parse(item.GetProperty("data").GetString()!).RootElement;
        return (item.GetProperty("id").GetString()!, data.GetProperty("message").GetProperty("subject").GetString()!);
    }
}
