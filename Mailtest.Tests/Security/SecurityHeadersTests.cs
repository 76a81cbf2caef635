using Mailtest.Tests.Infrastructure;
using System.Net;
using System.Net.Http.Headers;
using Mailtest.Core.Messages.Preview;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Accounts;
using Mailtest.Tests.Inbox;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Mailtest.Tests.Security;

/// <summary>Every kind of response carries the security headers, over real HTTP on the real host.</summary>
[TestCategory(Needs.Host)]
public sealed class SecurityHeadersTests(InboxSite site) : IClassFixture<InboxSite>
{
    private static void AssertHardened(HttpResponseMessage response, string what)
    {
        string Header(string name) => response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values) : throw new Xunit.Sdk.XunitException($"{what} ({(int)response.StatusCode}) has no {name} header");
        Assert.Equal("nosniff", Header("X-Content-Type-Options"));
        Assert.Equal("no-referrer", Header("Referrer-Policy"));
        Assert.Equal("SAMEORIGIN", Header("X-Frame-Options"));
        Assert.Contains("frame-ancestors 'self'", Header("Content-Security-Policy"));
    }

    [Fact]
    public async Task Pages_api_static_files_previews_and_errors_carry_the_security_headers()
    {
        using var session = new BrowserlessSession(site.WebAddress);
        Assert.Equal("/", (await session.SignInAsync(site.Member.Email, InboxSite.MemberPassword)).Headers.Location!.OriginalString);
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = site.WebAddress };
        using var api = new HttpClient { BaseAddress = site.WebAddress };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await site.Services.GetRequiredService<ApiTokens>().CreateAsync(site.Member.Id)).Token);
        var subject = $"Headers {Guid.NewGuid():N}";
        var mail = new MimeMessage { Subject = subject, Body = new TextPart("html") { Text = "<p>Hi</p>" } };
        mail.From.Add(MailboxAddress.Parse("shop@example.com"));
        mail.To.Add(MailboxAddress.Parse("anna@example.com"));
        await site.SendAsync(site.Staging, mail);
        var item = await site.FindAsync(site.Staging, subject);
        var links = new InboxLinks(site.Services.GetRequiredService<PreviewLinkSigner>().Grant(item.Id, item.EnvironmentId, site.Member.Id));

        var responses = new (string What, HttpResponseMessage Response)[]
        {
            ("interactive page", await session.Http.GetAsync("/dashboard/mailtest")),
            ("static sign-in page", await anonymous.GetAsync("/signin")),
            ("redirect to sign-in", await anonymous.GetAsync("/dashboard/mailtest")),
            ("unknown page", await session.Http.GetAsync("/no/such/page")),
            ("stylesheet", await anonymous.GetAsync("/app.css")),
            ("framework script", await anonymous.GetAsync("/_framework/blazor.web.js")),
            ("API answer", await api.GetAsync("/api/v1/environments")),
            ("API refusal", await anonymous.GetAsync("/api/v1/environments")),
            ("form post refused", await anonymous.PostAsync("/account/signin", new FormUrlEncodedContent(new Dictionary<string, string>()))),
            ("preview document", await anonymous.GetAsync(links.HtmlDocument(blockRemoteImages: false))),
            ("raw download", await anonymous.GetAsync(links.Raw)),
            ("preview refusal", await anonymous.GetAsync($"/inbox/messages/{item.Id:N}/html?t=forged")),
            ("image proxy refusal", await anonymous.GetAsync("/inbox/image-proxy?url=https%3A%2F%2Fcdn.example%2Fa.png&exp=1&sig=forged")),
        };

        foreach (var (what, response) in responses) AssertHardened(response, what);
        Assert.Equal(HttpStatusCode.OK, responses[0].Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, responses[9].Response.StatusCode);
        // The app's own policy: scripts from this site only, no inline or evaluated script.
        var appPolicy = responses[0].Response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self';", appPolicy);
        Assert.DoesNotContain("unsafe-eval", appPolicy);
        // The preview document keeps its stricter policy: nothing runs there at all.
        var previewPolicy = responses[9].Response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.StartsWith("default-src 'none';", previewPolicy);
        Assert.DoesNotContain("script-src", previewPolicy);
    }
}
