using System.Net;
using System.Security.Claims;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Accounts;
using Mailtest.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace Mailtest.Tests.Inbox;

/// <summary>
/// The real Mailtest host (Kestrel on a loopback port, SQLite, the real AccessRules) with one
/// organization "Acme" / project "Shop" / environments "Staging" and "Dev" (Mailtest enabled), a member
/// who may view them, and a second organization the member must never see.
/// Until sign-in and the message store land on main, the member is signed in by a fixed
/// authentication state and mail is kept by <see cref="InMemoryMessageStore"/>.
/// </summary>
public sealed class InboxSite : IAsyncLifetime
{
    private WebApplication? _app;
    private string _dataDirectory = "";

    public IServiceProvider Services => _app!.Services;
    public Uri WebAddress => new($"http://127.0.0.1:{Services.GetRequiredService<BoundEndpoints>().Web!.Port}/");
    public Uri InboxAddress => new(WebAddress, "dashboard/mailtest");
    public Organization Acme { get; private set; } = default!;
    public ProjectEnvironment Staging { get; private set; } = default!;
    public ProjectEnvironment Dev { get; private set; } = default!;
    public ProjectEnvironment Foreign { get; private set; } = default!;
    public UserAccount Member { get; private set; } = default!;
    public InMemoryMessageStore Store => (InMemoryMessageStore)Services.GetRequiredService<IMessageStore>();

    public async ValueTask InitializeAsync()
    {
        _dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-inbox-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dataDirectory);
        var builder = MailtestHost.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mailtest:Data:Directory"] = _dataDirectory,
            ["Mailtest:Web:Address"] = IPAddress.Loopback.ToString(),
            ["Mailtest:Web:Port"] = "0",
            ["Mailtest:Smtp:Address"] = IPAddress.Loopback.ToString(),
            ["Mailtest:Smtp:Port"] = "0",
            ["Mailtest:Smtp:PublicHost"] = "mail.acme.test",
            ["Mailtest:Smtp:PublicPort"] = "587",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Serve wwwroot and the framework's scripts from the build output (the test run is not a published app).
        builder.WebHost.UseStaticWebAssets();
        builder.Services.AddSingleton<IMessageStore, InMemoryMessageStore>();
        builder.Services.AddSingleton<SignedInMember>();
        builder.Services.AddScoped<AuthenticationStateProvider, MemberAuthenticationState>();

        _app = MailtestHost.Build(builder);
        await _app.Services.MigrateDatabaseAsync();
        await _app.StartAsync();
        await SeedAsync();
    }

    private async Task SeedAsync()
    {
        var tenancy = Services.GetRequiredService<TenancyAdministration>();
        Acme = await tenancy.CreateOrganizationAsync("Acme", Plan.Pro);
        var shop = await tenancy.CreateProjectAsync(Acme.Id, "Shop");
        Staging = await tenancy.CreateEnvironmentAsync(shop.Id, "Staging", EnvironmentKind.Staging);
        Dev = await tenancy.CreateEnvironmentAsync(shop.Id, "Dev", EnvironmentKind.Development);
        var other = await tenancy.CreateOrganizationAsync("Other", Plan.Pro);
        Foreign = await tenancy.CreateEnvironmentAsync((await tenancy.CreateProjectAsync(other.Id, "Secret")).Id, "Staging", EnvironmentKind.Staging);
        Member = await tenancy.CreateUserAsync("member@acme.test", "a long password 1", isPlatformAdmin: false);
        await tenancy.AddMemberAsync(Acme.Id, Member.Email, OrganizationRole.Admin);
        await using var db = await Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        await db.Environments.Where(e => e.Id == Staging.Id || e.Id == Dev.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(e => e.MailtestState, MailtestState.Enabled));
        Services.GetRequiredService<SignedInMember>().User = Member;
    }

    /// <summary>Captures a message into an environment, as if it had arrived by SMTP.</summary>
    public CapturedMessage Capture(ProjectEnvironment environment, MimeMessage message, DateTime? receivedUtc = null, string? envelopeTo = null) =>
        Store.Add(environment.Id == Foreign.Id ? Foreign.Project?.OrganizationId ?? Guid.Empty : Acme.Id, environment.Id, message, receivedUtc, envelopeTo);

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    internal sealed class SignedInMember
    {
        public UserAccount? User { get; set; }
    }

    private sealed class MemberAuthenticationState(SignedInMember member) : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() =>
            Task.FromResult(new AuthenticationState(member.User is { } user
                ? new ClaimsPrincipal(new ClaimsIdentity(CallerClaims.For(user), "test"))
                : new ClaimsPrincipal(new ClaimsIdentity())));
    }
}
