using Mailtest.Tests.Infrastructure;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mailtest.Core.Capture;
using Mailtest.Smtp;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Api;

/// <summary>GET .../events read as a real Server-Sent Events stream with HttpClient.</summary>
[TestCategory(Needs.Host)]
public sealed class EventStreamTests(ApiSite site) : IClassFixture<ApiSite>
{
    private sealed record SseEvent(string? Id, string Type, string Data)
    {
        public JsonElement Json => JsonDocument.Parse(Data).RootElement;
    }

    /// <summary>An open stream, read event by event.</summary>
    private sealed class EventReader(HttpResponseMessage response, StreamReader reader) : IDisposable
    {
        public HttpResponseMessage Response { get; } = response;

        public async Task<SseEvent> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string? id = null, type = null;
            var data = new List<string>();
            while (true)
            {
                var line = await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("The event stream ended.");
                if (line.Length == 0)
                {
                    if (type is null && data.Count == 0) continue;
                    return new SseEvent(id, type ?? "message", string.Join("\n", data));
                }
                if (line.StartsWith("id: ", StringComparison.Ordinal)) id = line[4..];
                else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal)) data.Add(line[6..]);
            }
        }

        /// <summary>The next event that is not of the given types (a delete also brings a 'changed' from the inbox, etc.).</summary>
        public async Task<SseEvent> NextOfAsync(string type)
        {
            while (true)
            {
                var next = await NextAsync();
                if (next.Type == type) return next;
            }
        }

        public void Dispose()
        {
            reader.Dispose();
            Response.Dispose();
        }
    }

    private static async Task<EventReader> OpenAsync(HttpClient client, string path, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new EventReader(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
        Assert.Equal("ready", (await reader.NextAsync()).Type);
        return reader;
    }

    private static string Events(ApiScene scene) => $"/api/v1/environments/{scene.StagingId}/events";

    [Fact]
    public async Task Capture_delete_and_read_changes_arrive_as_events()
    {
        var scene = await site.SceneAsync();
        using var stream = await OpenAsync(scene.Read, Events(scene));

        await scene.SendAsync("Live one", "Hello live");
        var captured = await stream.NextOfAsync("captured");
        Assert.NotNull(captured.Id);
        var message = captured.Json.GetProperty("message");
        Assert.Equal("Live one", message.GetProperty("subject").GetString());
        var id = message.GetProperty("id").GetGuid();

        await scene.Write.PutAsJsonAsync(scene.Messages, new { read = true, ids = new[] { id } });
        var read = await stream.NextAsync();
        Assert.Contains(read.Type, new[] { "read", "changed" });

        Assert.Equal(HttpStatusCode.NoContent, (await scene.Write.DeleteAsync($"{scene.Messages}/{id}")).StatusCode);
        var deleted = await stream.NextOfAsync("deleted");
        Assert.Equal(id, deleted.Json.GetProperty("messageId").GetGuid());
        Assert.True(long.Parse(deleted.Id!) > long.Parse(captured.Id!));
    }

    [Fact]
    public async Task Reconnecting_with_Last_Event_ID_replays_what_was_missed_in_order_and_nothing_twice()
    {
        var scene = await site.SceneAsync();
        string lastSeen;
        using (var first = await OpenAsync(scene.Read, Events(scene)))
        {
            await scene.SendAsync("Before the drop");
            lastSeen = (await first.NextOfAsync("captured")).Id!;
        }

        await scene.SendAsync("While away 1");
        await scene.SendAsync("While away 2");
        using var resumed = await OpenAsync(scene.Read, Events(scene), lastSeen);
        await scene.SendAsync("After the return");

        var subjects = new List<string>();
        while (subjects.Count < 3)
            subjects.Add((await resumed.NextOfAsync("captured")).Json.GetProperty("message").GetProperty("subject").GetString()!);
        Assert.Equal(["While away 1", "While away 2", "After the return"], subjects);
    }

    [Fact]
    public async Task A_Last_Event_ID_from_before_the_kept_window_asks_the_client_to_reload()
    {
        var scene = await site.SceneAsync();
        using var stream = await OpenAsync(scene.Read, Events(scene), "1");
        Assert.Equal("reset", (await stream.NextAsync()).Type);
    }

    [Fact]
    public async Task Another_environments_events_never_arrive_and_a_revoked_token_stops_the_stream()
    {
        var scene = await site.SceneAsync();
        var created = await (await scene.Owner.PostAsJsonAsync($"/api/v1/environments/{scene.StagingId}/tokens", new { name = "stream", scope = "read" }))
            .Content.ReadFromJsonAsync<JsonElement>();
        using var client = site.Client(created.GetProperty("token").GetString());
        using var stream = await OpenAsync(client, Events(scene));

        await site.SendAsync(scene.ForeignSmtp, ApiSite.Mail("Foreign secret"));
        await scene.SendAsync("Ours");
        Assert.Equal("Ours", (await stream.NextOfAsync("captured")).Json.GetProperty("message").GetProperty("subject").GetString());

        await scene.Owner.DeleteAsync($"/api/v1/environments/{scene.StagingId}/tokens/{created.GetProperty("id").GetGuid()}");
        await scene.SendAsync("After revocation");
        await Assert.ThrowsAsync<EndOfStreamException>(() => stream.NextOfAsync("captured"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(Events(scene))).StatusCode);
    }

    /// <summary>Sends the subjects one after another over one SMTP connection (STARTTLS, AUTH), each accepted before the next.</summary>
    private async Task SendInOrderAsync(IssuedCredential credential, IEnumerable<string> subjects)
    {
        using var client = new MailKit.Net.Smtp.SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", site.Services.GetRequiredService<SmtpListeners>().StartTls!.Port, MailKit.Security.SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(credential.Username, credential.Password);
        foreach (var subject in subjects) await client.SendAsync(ApiSite.Mail(subject));
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task A_burst_arrives_whole_and_in_order_with_none_of_the_mail_sent_to_other_environments_meanwhile()
    {
        var scene = await site.SceneAsync();
        var devSmtp = await site.Services.EnableMailtestAsync(scene.DevId);
        using var stream = await OpenAsync(scene.Read, Events(scene));

        // Four connections into this environment, and at the same time two into another environment
        // of the same organization and two into another organization's.
        string[][] ours = [.. Enumerable.Range(0, 4).Select(c => Enumerable.Range(0, 30).Select(i => $"Ours {c}-{i:00}").ToArray())];
        await Task.WhenAll([
            .. ours.Select(subjects => SendInOrderAsync(scene.Smtp, subjects)),
            .. Enumerable.Range(0, 2).Select(c => SendInOrderAsync(devSmtp, Enumerable.Range(0, 30).Select(i => $"Dev {c}-{i:00}"))),
            .. Enumerable.Range(0, 2).Select(c => SendInOrderAsync(scene.ForeignSmtp, Enumerable.Range(0, 30).Select(i => $"Foreign {c}-{i:00}"))),
        ]);
        await scene.SendAsync("After the burst");

        var received = new List<SseEvent>();
        while (received.LastOrDefault()?.Json.GetProperty("message").GetProperty("subject").GetString() != "After the burst")
            received.Add(await stream.NextOfAsync("captured"));

        var subjects = received.Select(e => e.Json.GetProperty("message").GetProperty("subject").GetString()!).ToList();
        Assert.Equal("After the burst", subjects[^1]);
        Assert.Equal(ours.SelectMany(s => s).Order(StringComparer.Ordinal), subjects[..^1].Order(StringComparer.Ordinal));
        // Each connection's messages in the order they were accepted; event ids only ever grow.
        foreach (var connection in ours)
            Assert.Equal(connection, subjects.Where(connection.Contains));
        var ids = received.Select(e => long.Parse(e.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(received, e => Assert.Equal(scene.StagingId, e.Json.GetProperty("environmentId").GetGuid()));
    }
}
