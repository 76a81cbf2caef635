using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MailKit.Net.Smtp;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using SkiaSharp;

namespace Mailtest.Tests.Mailpit;

/// <summary>
/// The Mailpit-compatible endpoints per environment, driven by the real npm client mailpit-api 2.1.0,
/// by a fetch replay of cypress-mailpit 2.0.0's calls, and over HTTP for access rules and headers.
/// </summary>
[TestCategory(Needs.Host)]
public sealed class MailpitCompatibilityTests : SandboxTests
{
    private string BaseUrl(Guid? environmentId = null) => new Uri(Host.WebAddress, $"mailpit/{environmentId ?? World.EnvironmentId}").ToString().TrimEnd('/');

    private async Task<string> EnvironmentTokenAsync(ApiTokenScope scope, Guid? environmentId = null)
    {
        var tokens = Host.Services.GetRequiredService<ApiTokens>();
        return (await tokens.CreateForEnvironmentByOperatorAsync(environmentId ?? World.EnvironmentId, scope, "ci", "tests")).Token;
    }

    private static HttpClient Basic(MailtestTestHost host, string? token)
    {
        var client = new HttpClient { BaseAddress = host.WebAddress };
        if (token is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"ci:{token}")));
        return client;
    }

    private async Task SeedAsync()
    {
        var welcome = new MimeMessage();
        welcome.From.Add(new MailboxAddress("Shop", "noreply@shop.example"));
        welcome.To.Add(MailboxAddress.Parse("jane@client.example"));
        welcome.Subject = "Welcome aboard";
        welcome.Body = new TextPart("plain") { Text = "Glad to have you." };
        await World.SendAsync(welcome);

        var reset = new MimeMessage();
        reset.From.Add(new MailboxAddress("Shop", "noreply@shop.example"));
        reset.To.Add(MailboxAddress.Parse("jane@client.example"));
        reset.Bcc.Add(MailboxAddress.Parse("audit@shop.example"));
        reset.Subject = "Reset your password";
        var body = new BodyBuilder
        {
            TextBody = "Reset it here: https://shop.example/reset?token=abc123",
            HtmlBody = "<p><a href=\"https://shop.example/reset?token=abc123\">Reset your password</a></p>",
        };
        body.Attachments.Add("terms.pdf", Enumerable.Range(0, 3000).Select(i => (byte)(i % 251)).ToArray(), new ContentType("application", "pdf"));
        reset.Body = body.ToMessageBody();
        await World.SendAsync(reset);
    }

    [Fact]
    public async Task The_mailpit_api_npm_client_drives_every_method_Mailtest_supports()
    {
        await SeedAsync();

        // A member's token: chaos (SMTP fault injection) is an environment setting, which environment tokens cannot change.
        var outcome = await NodeScript.RunAsync("mailpit-api-client.mjs", new Dictionary<string, string>
        {
            ["MAILPIT_URL"] = BaseUrl(), ["MAILPIT_TOKEN"] = World.OwnerToken,
        });

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Contains("all ok", outcome.Output);
        Assert.Equal(0, (await World.Owner.GetFromJsonAsync<JsonElement>($"/api/v1/environments/{World.EnvironmentId}/smtp-faults"))
            .GetProperty("recipient").GetProperty("probability").GetInt32());
    }

    [Fact]
    public async Task The_calls_cypress_mailpit_makes_work_with_a_read_write_environment_token()
    {
        var outcome = await NodeScript.RunAsync("cypress-mailpit-replay.mjs", new Dictionary<string, string>
        {
            ["MAILPIT_URL"] = BaseUrl(), ["MAILPIT_PASSWORD"] = await EnvironmentTokenAsync(ApiTokenScope.ReadWrite),
        });

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Contains("all ok", outcome.Output);
    }

    [Fact]
    public async Task Without_a_token_401_with_a_Basic_challenge_and_a_sentence()
    {
        using var anonymous = Basic(Host, null);
        using var forged = Basic(Host, "mt_forged");

        var response = await anonymous.GetAsync($"/mailpit/{World.EnvironmentId}/api/v1/messages");
        var wrong = await forged.GetAsync($"/mailpit/{World.EnvironmentId}/api/v1/info");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("API token", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [Fact]
    public async Task Tokens_reach_only_their_environment_read_only_tokens_cannot_delete_and_other_organizations_see_nothing()
    {
        await SeedAsync();
        var tenancy = Host.Services.GetRequiredService<TenancyAdministration>();
        var otherEnvironment = await tenancy.CreateEnvironmentAsync(World.ProjectId, "dev", EnvironmentKind.Development);
        using var readOnly = Basic(Host, await EnvironmentTokenAsync(ApiTokenScope.Read));
        using var otherEnvironmentToken = Basic(Host, await EnvironmentTokenAsync(ApiTokenScope.ReadWrite, otherEnvironment.Id));
        var (_, strangerUser) = await SandboxWorld.ClientAsync(Host, null);
        using var stranger = Basic(Host, (await Host.Services.GetRequiredService<ApiTokens>().CreateAsync(strangerUser.Id, "x")).Token);
        var messages = $"/mailpit/{World.EnvironmentId}/api/v1/messages";

        var list = await readOnly.GetFromJsonAsync<JsonElement>(messages);
        var delete = await readOnly.DeleteAsync(messages);
        var send = await readOnly.PostAsJsonAsync($"/mailpit/{World.EnvironmentId}/api/v1/send", new { From = new { Email = "a@b.example" }, To = new[] { new { Email = "c@d.example" } } });
        var elsewhere = await otherEnvironmentToken.GetAsync(messages);
        var foreign = await stranger.GetAsync(messages);
        var foreignMessage = await stranger.GetAsync($"/mailpit/{World.EnvironmentId}/api/v1/message/latest");
        // What Mailtest does not support says so only to those who may read the environment.
        var foreignTags = await stranger.GetAsync($"/mailpit/{World.EnvironmentId}/api/v1/tags");
        var elsewhereRelease = await otherEnvironmentToken.PostAsync($"/mailpit/{World.EnvironmentId}/api/v1/message/latest/release", null);
        var tags = await readOnly.GetAsync($"/mailpit/{World.EnvironmentId}/api/v1/tags");

        Assert.Equal(2, list.GetProperty("messages_count").GetInt32());
        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        Assert.Contains("read-only", await delete.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, send.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, elsewhere.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, foreignMessage.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, foreignTags.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, elsewhereRelease.StatusCode);
        Assert.DoesNotContain("never sends", await elsewhereRelease.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, tags.StatusCode);
        Assert.Equal(2, (await readOnly.GetFromJsonAsync<JsonElement>(messages)).GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Tags_change_only_with_a_read_write_token_of_their_environment_and_never_touch_another_environments_messages()
    {
        var tenancy = Host.Services.GetRequiredService<TenancyAdministration>();
        var otherEnvironment = await tenancy.CreateEnvironmentAsync(World.ProjectId, "dev", EnvironmentKind.Development);
        using var readWrite = Basic(Host, await EnvironmentTokenAsync(ApiTokenScope.ReadWrite));
        using var readOnly = Basic(Host, await EnvironmentTokenAsync(ApiTokenScope.Read));
        using var otherEnvironmentToken = Basic(Host, await EnvironmentTokenAsync(ApiTokenScope.ReadWrite, otherEnvironment.Id));
        var api = $"/mailpit/{World.EnvironmentId}/api/v1";
        var otherApi = $"/mailpit/{otherEnvironment.Id}/api/v1";
        async Task<string> SendAsync(HttpClient client, string path, string subject) =>
            (await (await client.PostAsJsonAsync($"{path}/send", new { From = new { Email = "app@shop.example" }, To = new[] { new { Email = "qa@client.example" } }, Subject = subject, Tags = new[] { "shared" } }))
                .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ID").GetString()!;
        var mine = await SendAsync(readWrite, api, "Mine");
        var theirs = await SendAsync(otherEnvironmentToken, otherApi, "Theirs");
        async Task<string[]> TagsAsync(HttpClient client, string path, string id) =>
            [.. (await client.GetFromJsonAsync<JsonElement>($"{path}/message/{id}")).GetProperty("Tags").EnumerateArray().Select(t => t.GetString()!)];

        var readOnlyList = await readOnly.GetFromJsonAsync<string[]>($"{api}/tags");
        var readOnlySet = await readOnly.PutAsJsonAsync($"{api}/tags", new { IDs = new[] { mine }, Tags = new[] { "x" } });
        var readOnlyRename = await readOnly.PutAsJsonAsync($"{api}/tags/shared", new { Name = "x" });
        var readOnlyDelete = await readOnly.DeleteAsync($"{api}/tags/shared");
        var elsewhereSet = await otherEnvironmentToken.PutAsJsonAsync($"{api}/tags", new { IDs = new[] { mine }, Tags = new[] { "x" } });
        var elsewhereDelete = await otherEnvironmentToken.DeleteAsync($"{api}/tags/shared");
        var noIds = await readWrite.PutAsJsonAsync($"{api}/tags", new { Tags = new[] { "x" } });
        var emptyName = await readWrite.PutAsJsonAsync($"{api}/tags/shared", new { Name = "!!" });
        // Another environment's message id in the list is ignored, as if it did not exist.
        var set = await readWrite.PutAsJsonAsync($"{api}/tags", new { IDs = new[] { mine, theirs }, Tags = new[] { "mine" } });
        var tagsAfterSet = await TagsAsync(readWrite, api, mine);
        var theirsAfterSet = await TagsAsync(otherEnvironmentToken, otherApi, theirs);
        await SendAsync(readWrite, api, "Mine again");
        var delete = await readWrite.DeleteAsync($"{api}/tags/shared");
        var rename = await readWrite.PutAsJsonAsync($"{api}/tags/mine", new { Name = "renamed" });

        Assert.Equal(["shared"], readOnlyList!);
        Assert.Equal(HttpStatusCode.Forbidden, readOnlySet.StatusCode);
        Assert.Contains("read-only", await readOnlySet.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, readOnlyRename.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, readOnlyDelete.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, elsewhereSet.StatusCode);
        Assert.Contains("another environment", await elsewhereSet.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, elsewhereDelete.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noIds.StatusCode);
        Assert.Contains("IDs", await noIds.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, emptyName.StatusCode);
        Assert.Contains("new name", await emptyName.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(["mine"], tagsAfterSet);
        Assert.Equal(["shared"], theirsAfterSet);
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rename.StatusCode);
        Assert.Equal(["renamed"], (await readWrite.GetFromJsonAsync<string[]>($"{api}/tags"))!);
        Assert.Equal(2, (await readWrite.GetFromJsonAsync<JsonElement>($"{api}/messages")).GetProperty("total").GetInt32());
        Assert.Equal(["shared"], (await otherEnvironmentToken.GetFromJsonAsync<string[]>($"{otherApi}/tags"))!);
        Assert.Equal(["shared"], await TagsAsync(otherEnvironmentToken, otherApi, theirs));
    }

    [Fact]
    public async Task Chaos_set_through_Mailpits_endpoint_fails_RCPT_TO_over_real_SMTP()
    {
        using var owner = Basic(Host, World.OwnerToken);
        var set = await owner.PutAsJsonAsync($"/mailpit/{World.EnvironmentId}/api/v1/chaos", new { Recipient = new { ErrorCode = 550, Probability = 100 } });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("shop@acme.example"));
        message.To.Add(MailboxAddress.Parse("a@client.example"));
        message.Subject = "Refused";
        message.Body = new TextPart("plain") { Text = "x" };
        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => World.SendAsync(message));

        Assert.Equal((SmtpStatusCode)550, refused.StatusCode);
        var chaos = await owner.GetFromJsonAsync<JsonElement>($"/mailpit/{World.EnvironmentId}/api/v1/chaos");
        Assert.Equal(550, chaos.GetProperty("Recipient").GetProperty("ErrorCode").GetInt32());
    }

    [Fact]
    public async Task Thumbnails_are_180_by_120_JPEGs_of_the_image_and_a_blank_box_for_anything_else()
    {
        var body = new BodyBuilder { TextBody = "Pictures attached." };
        body.Attachments.Add("wide.png", Png(400, 200, SKColors.Red), new ContentType("image", "png"));
        body.Attachments.Add("small.png", Png(60, 40, SKColors.Blue), new ContentType("image", "png"));
        body.Attachments.Add("broken.png", "not a picture at all"u8.ToArray(), new ContentType("image", "png"));
        var pictures = new MimeMessage();
        pictures.From.Add(MailboxAddress.Parse("shop@acme.example"));
        pictures.To.Add(MailboxAddress.Parse("a@client.example"));
        pictures.Subject = "Pictures";
        pictures.Body = body.ToMessageBody();
        await World.SendAsync(pictures);
        using var owner = Basic(Host, World.OwnerToken);
        var api = $"/mailpit/{World.EnvironmentId}/api/v1/message";
        var latest = await owner.GetFromJsonAsync<JsonElement>($"{api}/latest");
        var id = latest.GetProperty("ID").GetString();
        var parts = latest.GetProperty("Attachments").EnumerateArray()
            .ToDictionary(a => a.GetProperty("FileName").GetString()!, a => a.GetProperty("PartID").GetString()!);

        async Task<SKBitmap> ThumbnailAsync(string fileName)
        {
            var response = await owner.GetAsync($"{api}/{id}/part/{parts[fileName]}/thumb");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
            var thumbnail = SKBitmap.Decode(await response.Content.ReadAsByteArrayAsync());
            Assert.Equal((180, 120), (thumbnail.Width, thumbnail.Height));
            return thumbnail;
        }
        using var wide = await ThumbnailAsync("wide.png");
        using var small = await ThumbnailAsync("small.png");
        using var broken = await ThumbnailAsync("broken.png");
        var missing = await owner.GetAsync($"{api}/{id}/part/9/thumb");

        // Larger than the box: scaled and cropped to fill it, so red reaches the corners.
        Assert.True(IsNear(wide.GetPixel(90, 60), SKColors.Red) && IsNear(wide.GetPixel(2, 2), SKColors.Red), $"{wide.GetPixel(2, 2)}");
        // Smaller: centred on white, not stretched.
        Assert.True(IsNear(small.GetPixel(90, 60), SKColors.Blue), $"{small.GetPixel(90, 60)}");
        Assert.True(IsNear(small.GetPixel(2, 2), SKColors.White), $"{small.GetPixel(2, 2)}");
        // Not decodable: Mailpit's blank white box, not an error.
        Assert.True(IsNear(broken.GetPixel(90, 60), SKColors.White), $"{broken.GetPixel(90, 60)}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no part 9", await missing.Content.ReadAsStringAsync());
    }

    private static byte[] Png(int width, int height, SKColor color)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(color);
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    // JPEG is lossy: near enough is each channel within 40.
    private static bool IsNear(SKColor actual, SKColor expected) =>
        Math.Abs(actual.Red - expected.Red) < 40 && Math.Abs(actual.Green - expected.Green) < 40 && Math.Abs(actual.Blue - expected.Blue) < 40;

    [Fact]
    public async Task The_HTML_view_shows_the_mails_cid_images_from_the_message_itself()
    {
        var eml = Messages.SampleMail.WithAttachments("Invoice with a logo");
        await World.SendAsync(MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(eml))));
        using var owner = Basic(Host, World.OwnerToken);

        var response = await owner.GetAsync($"/mailpit/{World.EnvironmentId}/view/latest.html?query=" + Uri.EscapeDataString("subject:\"Invoice with a logo\""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The mail as sent, its cid: image inside it: the frame's policy loads data: images and nothing else.
        var logo = $"data:image/png;base64,{Convert.ToBase64String(new byte[300])}";
        Assert.Equal($"<html><head><style>p{{color:red}}</style></head><body><p>Your <b>invoice</b> INV/2026/0042 is ready.</p><img src=\"{logo}\"></body></html>",
            (await response.Content.ReadAsStringAsync()).TrimEnd());
        Assert.Contains("img-src data:", response.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task The_HTML_view_is_the_mail_as_sent_inside_a_script_free_sandbox()
    {
        var hostile = new MimeMessage();
        hostile.From.Add(MailboxAddress.Parse("shop@acme.example"));
        hostile.To.Add(MailboxAddress.Parse("a@client.example"));
        hostile.Subject = "Hostile";
        hostile.Body = new TextPart("html") { Text = "<p>Hi</p><script>fetch('/api/v1/environments')</script>" };
        await World.SendAsync(hostile);
        using var owner = Basic(Host, World.OwnerToken);

        var response = await owner.GetAsync($"/mailpit/{World.EnvironmentId}/view/latest.html");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<script>", await response.Content.ReadAsStringAsync());
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("sandbox", policy);
        Assert.Contains("default-src 'none'", policy);
        Assert.DoesNotContain("script-src", policy);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
    }
}
