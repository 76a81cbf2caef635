using System.Net;
using Mailtest.Core.Messages.Preview;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Accounts;
using Mailtest.Tests.Infrastructure;
using Mailtest.Web.Inbox;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Tests.Security;

/// <summary>Hostile input gets an answer, never a 500, over real HTTP on the real host.</summary>
[TestCategory(Needs.Host)]
public sealed class BadInputTests : IAsyncLifetime
{
    private const string Password = "correct horse battery";
    private MailtestTestHost _host = null!;
    private WebApplication _imageServer = null!;
    private Uri _imageServerAddress = null!;

    public async ValueTask InitializeAsync()
    {
        // A remote image server (on loopback, which this host's proxy is told to admit) that redirects to a file.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        _imageServer = builder.Build();
        _imageServer.MapGet("/to-file.png", () => Results.Redirect("file:///etc/passwd"));
        await _imageServer.StartAsync();
        _imageServerAddress = new Uri(_imageServer.Urls.Single());

        _host = await MailtestTestHost.StartAsync(configure: host => host.Services.AddSingleton(services => new RemoteImageFetcher(
            services.GetRequiredService<IOptions<InboxOptions>>().Value,
            endpoint => IPAddress.IsLoopback(endpoint.Address) || RemoteAddressPolicy.IsAllowed(endpoint.Address))));
        await _host.Services.GetRequiredService<TenancyAdministration>().CreateUserAsync("someone@example.test", Password, isPlatformAdmin: false);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _imageServer.DisposeAsync();
    }

    [Theory]
    [InlineData("/\t/evil.example/")]
    [InlineData("/\v/evil.example/")]
    [InlineData("/\tjavascript:alert(1)")]
    public async Task A_return_address_with_control_characters_is_ignored_on_sign_in_and_organization_switch(string returnUrl)
    {
        using var session = new BrowserlessSession(_host.WebAddress);

        var wrongPassword = await session.SubmitFormAsync("/signin", "/account/signin", new Dictionary<string, string>
        {
            ["email"] = "someone@example.test", ["password"] = "not it", ["returnUrl"] = returnUrl,
        });
        var signIn = await session.SubmitFormAsync("/signin", "/account/signin", new Dictionary<string, string>
        {
            ["email"] = "someone@example.test", ["password"] = Password, ["returnUrl"] = returnUrl,
        });
        var switchOrganization = await session.SubmitFormAsync("/signin", "/account/organization", new Dictionary<string, string>
        {
            ["organizationId"] = Guid.NewGuid().ToString(), ["returnUrl"] = returnUrl,
        });

        Assert.Equal(HttpStatusCode.Found, wrongPassword.StatusCode);
        Assert.Equal("/signin?error=invalid&returnUrl=%2F", wrongPassword.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Found, signIn.StatusCode);
        Assert.Equal("/", signIn.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Found, switchOrganization.StatusCode);
        Assert.Equal("/", switchOrganization.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task An_image_redirected_to_a_file_url_is_a_400_with_a_sentence()
    {
        var signer = _host.Services.GetRequiredService<PreviewLinkSigner>();
        using var http = new HttpClient { BaseAddress = _host.WebAddress };

        var response = await http.GetAsync(signer.ImageProxyUrl(new Uri(_imageServerAddress, "/to-file.png").ToString()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("only follows http and https", await response.Content.ReadAsStringAsync());
    }
}
