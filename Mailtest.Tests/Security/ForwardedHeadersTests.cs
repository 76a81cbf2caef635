using Mailtest.Core.Audit;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Security;

/// <summary>
/// Behind a TLS proxy: forwarded headers are believed from the configured proxies only, and every
/// cookie of a request that reached the proxy over HTTPS is Secure. Real HTTP on the real host; the
/// test client plays the proxy (it connects from 127.0.0.1).
/// </summary>
[TestCategory(Needs.Host)]
public sealed class ForwardedHeadersTests
{
    private const string Password = "correct horse battery";

    private static async Task<(MailtestTestHost Host, string Email)> StartAsync(string? knownProxy)
    {
        var host = await MailtestTestHost.StartAsync(knownProxy is null ? null : new Dictionary<string, string?> { ["Mailtest:Web:KnownProxies:0"] = knownProxy });
        var email = $"user-{Guid.NewGuid():N}@example.test";
        await host.Services.GetRequiredService<TenancyAdministration>().CreateUserAsync(email, Password, isPlatformAdmin: false);
        return (host, email);
    }

    /// <summary>
    /// The proxy's side of a sign-in: GET the form, POST it back with the antiforgery cookie and token.
    /// Cookies are carried by hand, because the proxy talks plain HTTP to Mailtest and an HTTP client
    /// would (rightly) not send a Secure cookie over it.
    /// </summary>
    private static async Task<(HttpResponseMessage Form, HttpResponseMessage Answer)> SignInThroughProxyAsync(MailtestTestHost host, string email, string password)
    {
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = host.WebAddress };
        http.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        http.DefaultRequestHeaders.Add("X-Forwarded-For", "192.0.2.44");
        var form = await http.GetAsync("/signin");
        var html = await form.Content.ReadAsStringAsync();
        var token = System.Text.RegularExpressions.Regex.Match(html, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        var post = new HttpRequestMessage(HttpMethod.Post, "/account/signin")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["email"] = email, ["password"] = password, ["returnUrl"] = "/", ["__RequestVerificationToken"] = System.Net.WebUtility.HtmlDecode(token),
            }),
        };
        post.Headers.Add("Cookie", string.Join("; ", SetCookies(form).Select(c => c.Split(';')[0])));
        return (form, await http.SendAsync(post));
    }

    private static IEnumerable<string> SetCookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [];

    [Fact]
    public async Task From_a_known_proxy_an_https_request_gets_secure_cookies_and_the_client_address_is_audited()
    {
        var (host, email) = await StartAsync(knownProxy: "127.0.0.1");
        await using var _ = host;
        var (_, wrong) = await SignInThroughProxyAsync(host, email, "not it");
        var (page, signIn) = await SignInThroughProxyAsync(host, email, Password);

        Assert.Equal("/", signIn.Headers.Location!.OriginalString);
        var antiforgery = Assert.Single(SetCookies(page), c => c.StartsWith(".AspNetCore.Antiforgery", StringComparison.Ordinal));
        Assert.Contains("secure", antiforgery, StringComparison.OrdinalIgnoreCase);
        var authentication = Assert.Single(SetCookies(signIn), c => c.StartsWith("mailtest.auth=", StringComparison.Ordinal));
        Assert.Contains("secure", authentication, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", authentication, StringComparison.OrdinalIgnoreCase);
        var audit = await host.Services.GetRequiredService<AuditLog>().PageAsync(0, 200);
        Assert.Contains(audit.Items, e => e.Action == AuditActions.SignInFailed && e.Actor == email && e.RemoteAddress == "192.0.2.44");
        Assert.Contains("error=invalid", wrong.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Without_configured_proxies_forwarded_headers_are_ignored()
    {
        var (host, email) = await StartAsync(knownProxy: null);
        await using var _ = host;
        await SignInThroughProxyAsync(host, email, "not it");
        var (_, signIn) = await SignInThroughProxyAsync(host, email, Password);

        Assert.Equal("/", signIn.Headers.Location!.OriginalString);
        var authentication = Assert.Single(SetCookies(signIn), c => c.StartsWith("mailtest.auth=", StringComparison.Ordinal));
        Assert.DoesNotContain("secure", authentication, StringComparison.OrdinalIgnoreCase);
        var audit = await host.Services.GetRequiredService<AuditLog>().PageAsync(0, 200);
        Assert.Contains(audit.Items, e => e.Action == AuditActions.SignInFailed && e.Actor == email && e.RemoteAddress == "127.0.0.1");
        Assert.DoesNotContain(audit.Items, e => e.RemoteAddress == "192.0.2.44");
    }
}
