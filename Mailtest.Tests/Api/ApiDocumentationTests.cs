using Mailtest.Tests.Infrastructure;
using System.Net;
using System.Text.Json;

namespace Mailtest.Tests.Api;

/// <summary>The OpenAPI document and the browsable reference, served by the real host without a token.</summary>
[TestCategory(Needs.Host)]
public sealed class ApiDocumentationTests(ApiSite site) : IClassFixture<ApiSite>
{
    [Fact]
    public async Task The_OpenAPI_document_describes_every_api_route_with_bearer_security()
    {
        using var anonymous = site.Client(null);
        var response = await anonymous.GetAsync("/api/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        Assert.StartsWith("3.", root.GetProperty("openapi").GetString());
        Assert.Equal("Mailtest API", root.GetProperty("info").GetProperty("title").GetString());
        Assert.Contains("messages/wait", root.GetProperty("info").GetProperty("description").GetString());
        Assert.Equal("bearer", root.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());

        var paths = root.GetProperty("paths").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateObject().Select(o => o.Name).ToHashSet());
        Assert.Equal(["delete", "get", "post", "put"], paths["/api/v1/environments/{id}/messages"].Order());
        Assert.Equal(["delete", "get"], paths["/api/v1/environments/{id}/messages/{message}"].Order());
        foreach (var path in new[] { "raw", "headers", "text", "html", "parts/{partId}" })
            Assert.Contains("get", paths[$"/api/v1/environments/{{id}}/messages/{{message}}/{path}"]);
        Assert.Contains("get", paths["/api/v1/environments/{id}/messages/wait"]);
        Assert.Contains("get", paths["/api/v1/environments/{id}/events"]);
        Assert.Contains("post", paths["/api/v1/environments/{id}/tokens"]);
        Assert.Contains("post", paths["/api/v1/environments/{id}/mailtest/enable"]);
        Assert.DoesNotContain(paths.Keys, p => !p.StartsWith("/api/v1/", StringComparison.Ordinal));
        var wait = root.GetProperty("paths").GetProperty("/api/v1/environments/{id}/messages/wait").GetProperty("get");
        Assert.Contains("408", wait.GetProperty("responses").EnumerateObject().Select(r => r.Name));
    }

    [Fact]
    public async Task The_reference_page_is_served_and_points_at_the_document()
    {
        using var anonymous = site.Client(null);
        var response = await anonymous.GetAsync("/api/reference");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains("api/openapi/v1.json", page);
        Assert.Contains("Mailtest API", page);
    }
}
