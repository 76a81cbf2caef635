using Mailtest.Tests.Infrastructure;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Api;

/// <summary>Who may call which messages route: no token, another environment's token, a read-only token, another organization.</summary>
[TestCategory(Needs.Host)]
public sealed class MessagesApiAccessTests(ApiSite site) : IClassFixture<ApiSite>
{
    /// <summary>Every route of the messages API, with a body where it takes one; {m} is a message id.</summary>
    private static IEnumerable<(HttpMethod Method, string Path, bool Changes)> Routes(string messages, Guid message) =>
    [
        (HttpMethod.Get, messages, false),
        (HttpMethod.Get, $"{messages}/{message}", false),
        (HttpMethod.Get, $"{messages}/latest", false),
        (HttpMethod.Get, $"{messages}/{message}/raw", false),
        (HttpMethod.Get, $"{messages}/{message}/headers", false),
        (HttpMethod.Get, $"{messages}/{message}/text", false),
        (HttpMethod.Get, $"{messages}/{message}/html", false),
        (HttpMethod.Get, $"{messages}/{message}/parts/2", false),
        (HttpMethod.Put, messages, true),
        (HttpMethod.Post, messages, true),
        (HttpMethod.Delete, $"{messages}/{message}", true),
        (HttpMethod.Delete, messages + "?query=subject:nothing-matches", true),
    ];

    private static HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        if (method == HttpMethod.Put) request.Content = JsonContent.Create(new { read = true, query = "subject:nothing-matches" });
        if (method == HttpMethod.Post)
            request.Content = JsonContent.Create(new { from = new { email = "app@example.com" }, to = new[] { new { email = "a@example.com" } }, subject = "Seed" });
        return request;
    }

    private static async Task<string> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected, string route)
    {
        Assert.True(expected == response.StatusCode, $"{route}: expected {expected}, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;
    }

    private async Task<Guid> OneMessageAsync(ApiScene scene)
    {
        await site.SendAsync(scene.Smtp, MimeKit.MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Messages.SampleMail.WithAttachments("Access check")))));
        return (await scene.Read.GetFromJsonAsync<JsonElement>(scene.Messages)).GetProperty("messages")[0].GetProperty("id").GetGuid();
    }

    [Fact]
    public async Task Every_route_answers_401_without_a_token_and_403_to_another_environments_token()
    {
        var scene = await site.SceneAsync();
        var message = await OneMessageAsync(scene);
        using var anonymous = site.Client(null);
        using var forged = site.Client("mt_" + new string('x', 43));

        foreach (var (method, path, _) in Routes(scene.Messages, message))
        {
            var route = $"{method} {path}";
            Assert.Contains("Bearer", await ProblemAsync(await anonymous.SendAsync(Request(method, path)), HttpStatusCode.Unauthorized, route));
            await ProblemAsync(await forged.SendAsync(Request(method, path)), HttpStatusCode.Unauthorized, route);
            Assert.Contains("another environment", await ProblemAsync(await scene.DevToken.SendAsync(Request(method, path)), HttpStatusCode.Forbidden, route));
        }
        Assert.Equal(1, (await scene.Read.GetFromJsonAsync<JsonElement>(scene.Messages)).GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task A_read_only_token_reads_every_route_and_is_refused_every_change()
    {
        var scene = await site.SceneAsync();
        var message = await OneMessageAsync(scene);

        foreach (var (method, path, changes) in Routes(scene.Messages, message))
        {
            var response = await scene.Read.SendAsync(Request(method, path));
            if (changes)
                Assert.Contains("read-only", await ProblemAsync(response, HttpStatusCode.Forbidden, $"{method} {path}"));
            else
                Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        Assert.Equal(1, (await scene.Read.GetFromJsonAsync<JsonElement>(scene.Messages)).GetProperty("total").GetInt32());
        Assert.Equal(HttpStatusCode.NoContent, (await scene.Write.DeleteAsync($"{scene.Messages}/{message}")).StatusCode);
    }

    [Fact]
    public async Task Another_organizations_message_and_environment_look_absent()
    {
        var scene = await site.SceneAsync();
        await OneMessageAsync(scene);
        await site.SendAsync(scene.ForeignSmtp, ApiSite.Mail("Their secret"));
        var theirMessages = $"/api/v1/environments/{scene.ForeignId}/messages";
        var theirs = (await scene.Stranger.GetFromJsonAsync<JsonElement>(theirMessages)).GetProperty("messages")[0].GetProperty("id").GetGuid();

        // Their message id under our environment: absent, for every route and every kind of token.
        foreach (var (client, mayChange) in new[] { (scene.Owner, true), (scene.Read, false), (scene.Write, true) })
            foreach (var (method, path, _) in Routes(scene.Messages, theirs).Where(r => r.Path.Contains(theirs.ToString()) && (mayChange || !r.Changes)))
                Assert.Contains("no such message", await ProblemAsync(await client.SendAsync(Request(method, path)), HttpStatusCode.NotFound, $"{method} {path}"));

        // Their environment with our owner's user token: absent; with our environment token: not this token's environment.
        Assert.Contains("no such environment", await ProblemAsync(await scene.Owner.GetAsync(theirMessages), HttpStatusCode.NotFound, theirMessages));
        Assert.Contains("no such environment", await ProblemAsync(await scene.Owner.DeleteAsync(theirMessages), HttpStatusCode.NotFound, theirMessages));
        await ProblemAsync(await scene.Write.DeleteAsync(theirMessages), HttpStatusCode.Forbidden, theirMessages);
        Assert.Equal(1, (await scene.Stranger.GetFromJsonAsync<JsonElement>(theirMessages)).GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Environment_tokens_are_created_listed_with_last_use_revoked_and_audited_and_cannot_manage_Mailtest()
    {
        var scene = await site.SceneAsync();
        var tokensPath = $"/api/v1/environments/{scene.StagingId}/tokens";

        var created = await scene.Owner.PostAsJsonAsync(tokensPath, new { name = "GitHub Actions", scope = "read" });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var token = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.StartsWith("mt_", token.GetProperty("token").GetString());
        Assert.Equal("read", token.GetProperty("scope").GetString());
        using var ci = site.Client(token.GetProperty("token").GetString());
        Assert.Equal(HttpStatusCode.OK, (await ci.GetAsync(scene.Messages)).StatusCode);

        var listed = await scene.Owner.GetFromJsonAsync<JsonElement[]>(tokensPath);
        var item = Assert.Single(listed!, t => t.GetProperty("name").GetString() == "GitHub Actions");
        Assert.False(item.TryGetProperty("token", out _));
        Assert.Equal(JsonValueKind.String, item.GetProperty("lastUsedUtc").ValueKind);
        Assert.Equal(token.GetProperty("token").GetString()![..10], item.GetProperty("prefix").GetString());

        // An environment token reaches mail only: no lifecycle, no other environments, no token management.
        await ProblemAsync(await ci.PostAsync($"/api/v1/environments/{scene.StagingId}/mailtest/rotate", null), HttpStatusCode.Forbidden, "rotate");
        await ProblemAsync(await ci.PostAsJsonAsync(tokensPath, new { name = "escalate", scope = "read-write" }), HttpStatusCode.Forbidden, "tokens");
        Assert.Equal([scene.StagingId], (await ci.GetFromJsonAsync<JsonElement[]>("/api/v1/environments"))!.Select(e => e.GetProperty("id").GetGuid()));
        await ProblemAsync(await scene.Owner.PostAsJsonAsync(tokensPath, new { name = "x", scope = "admin" }), HttpStatusCode.BadRequest, "bad scope");

        Assert.Equal(HttpStatusCode.NoContent, (await scene.Owner.DeleteAsync($"{tokensPath}/{token.GetProperty("id").GetGuid()}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ci.GetAsync(scene.Messages)).StatusCode);
        Assert.DoesNotContain((await scene.Owner.GetFromJsonAsync<JsonElement[]>(tokensPath))!, t => t.GetProperty("name").GetString() == "GitHub Actions");

        await using var db = await site.Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        var audit = await db.AuditEntries.Where(a => a.EnvironmentId == scene.StagingId && a.Detail!.Contains("GitHub Actions")).OrderBy(a => a.Id).ToListAsync();
        Assert.Equal([AuditActions.EnvironmentTokenCreated, AuditActions.EnvironmentTokenRevoked], audit.Select(a => a.Action));
        Assert.All(audit, a => Assert.DoesNotContain(token.GetProperty("token").GetString()!, a.Detail));
        // Only the 32-byte keyed hash is stored.
        Assert.All(await db.ApiTokens.Where(t => t.EnvironmentId == scene.StagingId).ToListAsync(), t => Assert.Equal(32, t.TokenHash.Length));
    }
}
