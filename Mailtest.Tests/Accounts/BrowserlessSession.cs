using System.Net;
using System.Text.RegularExpressions;

namespace Mailtest.Tests.Accounts;

/// <summary>
/// An HttpClient that behaves like a browser for the static account pages: it keeps cookies,
/// reads the antiforgery token from a page's form and posts the form with it.
/// </summary>
public sealed partial class BrowserlessSession : IDisposable
{
    private readonly HttpClientHandler _handler;

    public BrowserlessSession(Uri baseAddress)
    {
        _handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false, UseCookies = true };
        Http = new HttpClient(_handler) { BaseAddress = baseAddress };
    }

    public HttpClient Http { get; }

    /// <summary>GETs <paramref name="pagePath"/>, then posts <paramref name="fields"/> with the page's antiforgery token to <paramref name="actionPath"/>.</summary>
    public async Task<HttpResponseMessage> SubmitFormAsync(string pagePath, string actionPath, IDictionary<string, string> fields)
    {
        var page = await Http.GetAsync(pagePath);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        var token = AntiforgeryField().Match(html);
        Assert.True(token.Success, $"the page {pagePath} has an antiforgery token");
        var form = new Dictionary<string, string>(fields) { ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value) };
        return await Http.PostAsync(actionPath, new FormUrlEncodedContent(form));
    }

    /// <summary>The cookies this session holds, as a Cookie header (to copy them into another client).</summary>
    public string CookieHeader() => _handler.CookieContainer.GetCookieHeader(Http.BaseAddress!);

    public Task<HttpResponseMessage> SignInAsync(string email, string password) =>
        SubmitFormAsync("/signin", "/account/signin", new Dictionary<string, string> { ["email"] = email, ["password"] = password, ["returnUrl"] = "/" });

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    public void Dispose()
    {
        Http.Dispose();
        _handler.Dispose();
    }
}
