using Mailtest.Tests.Infrastructure;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Mailbox;
using Mailtest.Tests.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Api;

/// <summary>GET .../messages/wait over real HTTP: answered by the message itself, never by polling.</summary>
[TestCategory(Needs.Host)]
public sealed class WaitForMessageTests(ApiSite site) : IClassFixture<ApiSite>
{
    private MessageWaiter Waiter => site.Services.GetRequiredService<MessageWaiter>();

    /// <summary>Until <paramref name="count"/> waiters of the test hang in the server (the test's own sync, not the product's).</summary>
    private async Task WaitersAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Waiter.Waiting < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {Waiter.Waiting} of {count} waiters registered");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>A client with a new read token of the staging environment, and the owner's revocation of that token.</summary>
    private async Task<(HttpClient Client, Func<Task> RevokeAsync)> ShortLivedReadTokenAsync(ApiScene scene)
    {
        var tokens = await scene.Owner.PostAsJsonAsync($"/api/v1/environments/{scene.StagingId}/tokens", new { name = "short-lived", scope = "read" });
        var created = await tokens.Content.ReadFromJsonAsync<JsonElement>();
        return (site.Client(created.GetProperty("token").GetString()), async () =>
            Assert.Equal(HttpStatusCode.NoContent, (await scene.Owner.DeleteAsync($"/api/v1/environments/{scene.StagingId}/tokens/{created.GetProperty("id").GetGuid()}")).StatusCode));
    }

    private static async Task<JsonElement> OkAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static Task<Guid> InjectAsync(ApiScene scene, string subject, string body = "Hello") =>
        InjectInAsync(scene.Write, scene.StagingId, subject, body);

    private static async Task<Guid> InjectInAsync(HttpClient client, Guid environmentId, string subject, string body = "Hello")
    {
        using var eml = new StringContent(SampleMail.Plain(subject, body), Encoding.UTF8);
        eml.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        var response = await client.PostAsync($"/api/v1/environments/{environmentId}/messages", eml);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    [Fact]
    public async Task A_waiter_is_answered_by_the_first_matching_message_and_not_by_others()
    {
        var scene = await site.SceneAsync();
        var waiting = scene.Read.GetAsync(scene.Messages + "/wait?timeout=60&query=" + Uri.EscapeDataString("subject:\"reset your password\" to:alice"));
        await WaitersAsync(1);

        await scene.SendAsync("Welcome", to: "alice@example.com");
        await scene.SendAsync("Reset your password", "https://shop.example/reset?t=1", to: "bob@example.com");
        Assert.False(waiting.IsCompleted);
        await scene.SendAsync("Reset your password", "https://shop.example/reset?t=2", to: "alice@example.com");

        var answer = await OkAsync(await waiting);
        Assert.Equal("Reset your password", answer.GetProperty("subject").GetString());
        Assert.Equal(["alice@example.com"], answer.GetProperty("envelope").GetProperty("to").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("t=2", await scene.Read.GetStringAsync($"{scene.Messages}/{answer.GetProperty("id").GetGuid()}/text"));
    }

    [Fact]
    public async Task A_free_text_query_matches_a_message_the_moment_it_is_stored()
    {
        var scene = await site.SceneAsync();
        var code = Guid.NewGuid().ToString("N")[..12];
        var waiting = scene.Read.GetAsync($"{scene.Messages}/wait?timeout=60&query={code}");
        await WaitersAsync(1);

        var id = await InjectAsync(scene, "Your sign-in code", $"Your code is {code}.");

        Assert.Equal(id, (await OkAsync(await waiting)).GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task Timeout_answers_408_with_a_problem_and_bad_arguments_400()
    {
        var scene = await site.SceneAsync();

        var response = await scene.Read.GetAsync(scene.Messages + "/wait?timeout=1&query=subject:never");
        Assert.Equal(HttpStatusCode.RequestTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("No message matching 'subject:never' arrived within 1 s", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.Equal(0, Waiter.Waiting);

        Assert.Equal(HttpStatusCode.BadRequest, (await scene.Read.GetAsync(scene.Messages + "/wait?timeout=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await scene.Read.GetAsync(scene.Messages + "/wait?timeout=5&since=yesterday")).StatusCode);
    }

    [Fact]
    public async Task With_since_a_message_already_stored_answers_at_once_and_a_message_id_means_after_it()
    {
        var scene = await site.SceneAsync();
        var before = DateTime.UtcNow.AddSeconds(-1).ToString("O");
        var first = await InjectAsync(scene, "Order confirmation");

        var atOnce = await OkAsync(await scene.Read.GetAsync($"{scene.Messages}/wait?timeout=1&query=subject:order&since={Uri.EscapeDataString(before)}"));
        Assert.Equal(first, atOnce.GetProperty("id").GetGuid());

        // After the first message: it no longer counts, the next one does.
        var waiting = scene.Read.GetAsync($"{scene.Messages}/wait?timeout=60&query=subject:order&since={first}");
        await WaitersAsync(1);
        Assert.False(waiting.IsCompleted);
        var second = await InjectAsync(scene, "Order shipped");
        Assert.Equal(second, (await OkAsync(await waiting)).GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task Two_hundred_waiters_on_one_environment_are_all_answered_by_one_message()
    {
        var scene = await site.SceneAsync();
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 300 };
        using var client = new HttpClient(handler) { BaseAddress = site.WebAddress, Timeout = TimeSpan.FromSeconds(120) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", scene.ReadToken);

        var waiters = Enumerable.Range(0, 200).Select(_ => client.GetAsync(scene.Messages + "/wait?timeout=120&query=subject:invoice")).ToList();
        await WaitersAsync(200);
        var id = await InjectAsync(scene, "Your invoice");

        var answers = await Task.WhenAll(waiters);
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        foreach (var answer in answers)
            Assert.Equal(id, (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task A_message_stored_while_a_waiter_checks_and_subscribes_is_never_missed()
    {
        // The race: the message commits between the waiter's look at stored mail and its subscription.
        // Each round starts the wait and the store at the same moment; with `since` before both, every
        // round must be answered with its own message, whichever side wins.
        var scene = await site.SceneAsync();
        for (var round = 0; round < 40; round++)
        {
            var since = DateTime.UtcNow.AddMilliseconds(-1).ToString("O");
            var marker = $"race{round}x{Guid.NewGuid():N}"[..20];
            var wait = scene.Read.GetAsync($"{scene.Messages}/wait?timeout=30&query={marker}&since={Uri.EscapeDataString(since)}");
            var store = InjectAsync(scene, $"Round {round}", $"marker {marker}");
            await Task.WhenAll(wait, store);
            Assert.Equal(await store, (await OkAsync(await wait)).GetProperty("id").GetGuid());
        }
    }

    [Fact]
    public async Task A_tag_waiter_is_answered_when_a_stored_message_is_tagged_through_the_Mailpit_API_and_only_in_its_environment()
    {
        var scene = await site.SceneAsync();
        var stored = await InjectAsync(scene, "Order confirmation");
        var devWaiting = scene.DevToken.GetAsync($"/api/v1/environments/{scene.DevId}/messages/wait?timeout=50&query=tag:verified");
        var waiting = scene.Read.GetAsync(scene.Messages + "/wait?timeout=50&query=tag:verified");
        await WaitersAsync(2);

        var tagged = await scene.Write.PutAsJsonAsync($"/mailpit/{scene.StagingId}/api/v1/tags", new { IDs = new[] { stored }, Tags = new[] { "Verified" } });
        Assert.Equal(HttpStatusCode.OK, tagged.StatusCode);
        Assert.Equal(stored, (await OkAsync(await waiting)).GetProperty("id").GetGuid());

        // The other environment's waiter was not answered by it: the first message tagged there is its answer.
        Assert.False(devWaiting.IsCompleted);
        var devMessage = await InjectInAsync(scene.DevToken, scene.DevId, "Dev order");
        var devTagged = await scene.DevToken.PutAsJsonAsync($"/mailpit/{scene.DevId}/api/v1/tags", new { IDs = new[] { devMessage }, Tags = new[] { "verified" } });
        Assert.Equal(HttpStatusCode.OK, devTagged.StatusCode);
        Assert.Equal(devMessage, (await OkAsync(await devWaiting)).GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task Renaming_a_tag_answers_a_waiter_for_the_new_name_and_a_revoked_waiter_gets_no_message()
    {
        var scene = await site.SceneAsync();
        var (revoked, revokeAsync) = await ShortLivedReadTokenAsync(scene);
        using var _ = revoked;
        var older = await InjectAsync(scene, "Older");
        var newer = await InjectAsync(scene, "Newer");
        var pending = await scene.Write.PutAsJsonAsync($"/mailpit/{scene.StagingId}/api/v1/tags", new { IDs = new[] { older, newer }, Tags = new[] { "pending" } });
        Assert.Equal(HttpStatusCode.OK, pending.StatusCode);
        var revokedWaiting = revoked.GetAsync(scene.Messages + "/wait?timeout=50&query=" + Uri.EscapeDataString("tag:\"ready to ship\""));
        var waiting = scene.Read.GetAsync(scene.Messages + "/wait?timeout=50&query=" + Uri.EscapeDataString("tag:\"ready to ship\""));
        await WaitersAsync(2);
        await revokeAsync();

        var renamed = await scene.Write.PutAsJsonAsync($"/mailpit/{scene.StagingId}/api/v1/tags/pending", new { Name = "ready to ship" });
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);

        Assert.Equal(newer, (await OkAsync(await waiting)).GetProperty("id").GetGuid()); // the newest of the two now matching
        var refused = await revokedWaiting;
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.DoesNotContain(older.ToString(), await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_read_waiter_is_answered_when_a_stored_message_is_marked_read_through_the_Mailpit_API_and_only_in_its_environment()
    {
        var scene = await site.SceneAsync();
        var stored = await InjectAsync(scene, "Order confirmation");
        var devMessage = await InjectInAsync(scene.DevToken, scene.DevId, "Dev order");
        var devWaiting = scene.DevToken.GetAsync($"/api/v1/environments/{scene.DevId}/messages/wait?timeout=50&query=is:read");
        var waiting = scene.Read.GetAsync(scene.Messages + "/wait?timeout=50&query=" + Uri.EscapeDataString("is:read subject:order"));
        var newOrderWaiting = scene.Read.GetAsync(scene.Messages + "/wait?timeout=50&query=subject:order"); // looks not at the read state
        await WaitersAsync(3);

        var marked = await scene.Write.PutAsJsonAsync($"/mailpit/{scene.StagingId}/api/v1/messages", new { IDs = new[] { stored }, Read = true });
        Assert.Equal(HttpStatusCode.OK, marked.StatusCode);
        var answer = await OkAsync(await waiting);
        Assert.Equal(stored, answer.GetProperty("id").GetGuid());
        Assert.True(answer.GetProperty("isRead").GetBoolean());
        // Reading an old order does not answer a waiter for orders: the next order stored does.
        var shipped = await InjectAsync(scene, "Order shipped");
        Assert.Equal(shipped, (await OkAsync(await newOrderWaiting)).GetProperty("id").GetGuid());

        // The other environment's waiter was not answered by it: the message marked read there is its answer.
        Assert.False(devWaiting.IsCompleted);
        var devMarked = await scene.DevToken.PutAsJsonAsync($"/api/v1/environments/{scene.DevId}/messages", new { read = true, ids = new[] { devMessage } });
        Assert.Equal(HttpStatusCode.OK, devMarked.StatusCode);
        Assert.Equal(devMessage, (await OkAsync(await devWaiting)).GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task Marking_messages_unread_answers_an_unread_waiter_with_the_newest_and_a_revoked_waiter_gets_no_message()
    {
        var scene = await site.SceneAsync();
        var (revoked, revokeAsync) = await ShortLivedReadTokenAsync(scene);
        using var _ = revoked;
        var older = await InjectAsync(scene, "Older");
        var newer = await InjectAsync(scene, "Newer");
        var read = await scene.Write.PutAsJsonAsync(scene.Messages, new { read = true, ids = new[] { older, newer } });
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var revokedWaiting = revoked.GetAsync(scene.Messages + "/wait?timeout=50&query=is:unread");
        var waiting = scene.Read.GetAsync(scene.Messages + "/wait?timeout=50&query=is:unread");
        await WaitersAsync(2);
        await revokeAsync();

        var unread = await scene.Write.PutAsJsonAsync($"/mailpit/{scene.StagingId}/api/v1/messages", new { IDs = new[] { older, newer }, Read = false });
        Assert.Equal(HttpStatusCode.OK, unread.StatusCode);

        Assert.Equal(newer, (await OkAsync(await waiting)).GetProperty("id").GetGuid()); // the newest of the two now matching
        var refused = await revokedWaiting;
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.DoesNotContain(older.ToString(), await refused.Content.ReadAsStringAsync());
        Assert.DoesNotContain(newer.ToString(), await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Mark_all_read_in_the_inbox_answers_a_read_waiter_with_the_newest_match()
    {
        var scene = await site.SceneAsync();
        await InjectAsync(scene, "Invoice 1");
        var newest = await InjectAsync(scene, "Invoice 2");
        await InjectAsync(scene, "Newsletter");
        var waiting = scene.Read.GetAsync(scene.Messages + "/wait?timeout=50&query=" + Uri.EscapeDataString("is:read subject:invoice"));
        await WaitersAsync(1);

        await site.Services.GetRequiredService<IMessageStore>().MarkAllReadAsync([scene.StagingId]); // the inbox's "Mark all read"

        Assert.Equal(newest, (await OkAsync(await waiting)).GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task A_waiter_whose_token_is_revoked_gets_no_message()
    {
        var scene = await site.SceneAsync();
        var (client, revokeAsync) = await ShortLivedReadTokenAsync(scene);
        using var _ = client;
        var waiting = client.GetAsync(scene.Messages + "/wait?timeout=60&query=subject:secret");
        await WaitersAsync(1);

        await revokeAsync();
        await InjectAsync(scene, "The secret");

        var answer = await waiting;
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.DoesNotContain("The secret", await answer.Content.ReadAsStringAsync());
    }
}
