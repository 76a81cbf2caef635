using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Api;

/// <summary>The HTTP API over real HTTP against the real host, with bearer tokens.</summary>
[TestCategory(Needs.Host)]
public sealed class MailtestApiTests : IAsyncLifetime
{
    private MailtestTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await MailtestTestHost.StartAsync(new Dictionary<string, string?>
    {
        ["Mailtest:Smtp:PublicHost"] = "smtp.example.test", ["Mailtest:Smtp:PublicPort"] = "587",
    });

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private TenancyAdministration Administration => _host.Services.GetRequiredService<TenancyAdministration>();

    private sealed record Org(Guid OrganizationId, Guid ProjectId, Guid StagingId, Guid ProductionId, HttpClient Owner);

    private async Task<Org> OrganizationAsync(Plan plan = Plan.Starter)
    {
        var organization = await Administration.CreateOrganizationAsync("Acme " + Guid.NewGuid().ToString("N")[..6], plan);
        var project = await Administration.CreateProjectAsync(organization.Id, "Shop");
        var staging = await Administration.CreateEnvironmentAsync(project.Id, "staging", EnvironmentKind.Staging);
        var production = await Administration.CreateEnvironmentAsync(project.Id, "production", EnvironmentKind.Production);
        var (owner, _) = await ClientAsync(organization.Id, OrganizationRole.Owner);
        return new Org(organization.Id, project.Id, staging.Id, production.Id, owner);
    }

    private async Task<(HttpClient Client, UserAccount User)> ClientAsync(Guid? organizationId, OrganizationRole role = OrganizationRole.Member, bool platformAdmin = false)
    {
        var user = await Administration.CreateUserAsync($"u-{Guid.NewGuid():N}@example.test", "long enough password", platformAdmin);
        if (organizationId is { } id) await Administration.AddMemberAsync(id, user.Email, role);
        var token = await _host.Services.GetRequiredService<ApiTokens>().CreateAsync(user.Id, "tests");
        return (Client(token.Token), user);
    }

    private HttpClient Client(string? token)
    {
        var client = new HttpClient { BaseAddress = _host.WebAddress };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Without_a_valid_token_the_API_answers_401_with_a_problem()
    {
        using var anonymous = Client(null);
        using var forged = Client("mt_not-a-real-token");

        var problem = await ProblemAsync(await anonymous.GetAsync("/api/v1/environments"), HttpStatusCode.Unauthorized);
        await ProblemAsync(await forged.GetAsync("/api/v1/environments"), HttpStatusCode.Unauthorized);

        Assert.Contains("Bearer", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_revoked_token_stops_working()
    {
        var user = await Administration.CreateUserAsync($"u-{Guid.NewGuid():N}@example.test", "long enough password", false);
        var tokens = _host.Services.GetRequiredService<ApiTokens>();
        var token = await tokens.CreateAsync(user.Id, "ci");
        using var client = Client(token.Token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/environments")).StatusCode);

        await tokens.RevokeAsync(user.Id, token.Id);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/environments")).StatusCode);
    }

    [Fact]
    public async Task Environments_lists_only_the_callers_organizations()
    {
        var mine = await OrganizationAsync();
        var theirs = await OrganizationAsync();

        var items = await mine.Owner.GetFromJsonAsync<JsonElement[]>("/api/v1/environments");

        // Both sides sorted: two ids made in the same millisecond have no fixed order between them.
        Assert.Equal(new[] { mine.StagingId, mine.ProductionId }.Order(), items!.Select(i => i.GetProperty("id").GetGuid()).Order());
        Assert.DoesNotContain(items!, i => i.GetProperty("id").GetGuid() == theirs.StagingId);
        Assert.Contains(items!, i => i.GetProperty("kind").GetString() == "production" && i.GetProperty("mailtest").GetString() == "disabled");
    }

    [Fact]
    public async Task Enable_rotate_and_disable_over_HTTP()
    {
        var org = await OrganizationAsync(Plan.Pro);
        var path = $"/api/v1/environments/{org.StagingId}/mailtest";

        var enableResponse = await org.Owner.PostAsync(path + "/enable", null);
        Assert.Equal(HttpStatusCode.OK, enableResponse.StatusCode);
        var enabled = await enableResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("smtp.example.test", enabled.GetProperty("host").GetString());
        Assert.Equal(587, enabled.GetProperty("port").GetInt32());
        Assert.Equal("STARTTLS", enabled.GetProperty("encryption").GetString());
        var username = enabled.GetProperty("username").GetString()!;
        var password = enabled.GetProperty("password").GetString()!;
        Assert.True(await LoginIsValidAsync(username, password));

        var status = await org.Owner.GetFromJsonAsync<JsonElement>(path);
        Assert.Equal(("enabled", username), (status.GetProperty("state").GetString(), status.GetProperty("username").GetString()));
        Assert.False(status.TryGetProperty("password", out _));

        var again = await ProblemAsync(await org.Owner.PostAsync(path + "/enable", null), HttpStatusCode.Conflict);
        Assert.Contains("already enabled", again.GetProperty("detail").GetString());

        var rotated = await (await org.Owner.PostAsync(path + "/rotate", null)).Content.ReadFromJsonAsync<JsonElement>();
        var newPassword = rotated.GetProperty("password").GetString()!;
        Assert.Equal(username, rotated.GetProperty("username").GetString());
        Assert.False(await LoginIsValidAsync(username, password));
        Assert.True(await LoginIsValidAsync(username, newPassword));

        var noRotation = await ProblemAsync(await org.Owner.PostAsync(path + "/rotate/abort", null), HttpStatusCode.Conflict);
        Assert.Contains("No rotation is in progress", noRotation.GetProperty("detail").GetString());

        var disableResponse = await org.Owner.PostAsync(path + "/disable", null);
        Assert.Equal(HttpStatusCode.OK, disableResponse.StatusCode);
        var disabled = await disableResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0, disabled.GetProperty("keptMessages").GetInt32());
        Assert.InRange(disabled.GetProperty("keptUntil").GetDateTime(), DateTime.UtcNow.AddDays(89), DateTime.UtcNow.AddDays(91));
        Assert.False(await LoginIsValidAsync(username, newPassword));
    }

    [Fact]
    public async Task A_stuck_rotation_can_be_retried_or_aborted_over_HTTP()
    {
        var org = await OrganizationAsync();
        var path = $"/api/v1/environments/{org.StagingId}/mailtest";
        var enabled = await (await org.Owner.PostAsync(path + "/enable", null)).Content.ReadFromJsonAsync<JsonElement>();
        var username = enabled.GetProperty("username").GetString()!;
        var oldPassword = enabled.GetProperty("password").GetString()!;
        await SetRotatingAsync(org.StagingId);

        Assert.True((await org.Owner.GetFromJsonAsync<JsonElement>(path)).GetProperty("isRotating").GetBoolean());
        await ProblemAsync(await org.Owner.PostAsync(path + "/rotate", null), HttpStatusCode.Conflict);

        var abort = await org.Owner.PostAsync(path + "/rotate/abort", null);
        Assert.Equal(HttpStatusCode.NoContent, abort.StatusCode);
        Assert.True(await LoginIsValidAsync(username, oldPassword));

        await SetRotatingAsync(org.StagingId);
        var retried = await (await org.Owner.PostAsync(path + "/rotate/retry", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(await LoginIsValidAsync(username, retried.GetProperty("password").GetString()!));
        Assert.False(await LoginIsValidAsync(username, oldPassword));
        Assert.False((await org.Owner.GetFromJsonAsync<JsonElement>(path)).GetProperty("isRotating").GetBoolean());
    }

    [Fact]
    public async Task Production_Free_plan_and_missing_permission_answer_403_with_the_reason()
    {
        var org = await OrganizationAsync();
        var free = await OrganizationAsync(Plan.Free);
        var (member, memberUser) = await ClientAsync(org.OrganizationId);
        await using (var db = await Db())
        {
            db.ProjectGrants.Add(new ProjectGrant { ProjectId = org.ProjectId, UserId = memberUser.Id, Permission = ProjectPermission.MailtestView });
            await db.SaveChangesAsync();
        }

        var production = await ProblemAsync(await org.Owner.PostAsync($"/api/v1/environments/{org.ProductionId}/mailtest/enable", null), HttpStatusCode.Forbidden);
        var freePlan = await ProblemAsync(await free.Owner.PostAsync($"/api/v1/environments/{free.StagingId}/mailtest/enable", null), HttpStatusCode.Forbidden);
        var permission = await ProblemAsync(await member.PostAsync($"/api/v1/environments/{org.StagingId}/mailtest/enable", null), HttpStatusCode.Forbidden);

        Assert.Contains("Mailtest cannot be enabled on production environments", production.GetProperty("detail").GetString());
        Assert.Contains("Free plan", freePlan.GetProperty("detail").GetString());
        Assert.Contains("project.mailtest.manage", permission.GetProperty("detail").GetString());
        var viewed = await member.GetFromJsonAsync<JsonElement>($"/api/v1/environments/{org.StagingId}/mailtest");
        Assert.False(viewed.GetProperty("canManage").GetBoolean());
    }

    [Fact]
    public async Task Another_organizations_environment_answers_404()
    {
        var mine = await OrganizationAsync();
        var theirs = await OrganizationAsync();

        await ProblemAsync(await mine.Owner.GetAsync($"/api/v1/environments/{theirs.StagingId}/mailtest"), HttpStatusCode.NotFound);
        var problem = await ProblemAsync(await mine.Owner.PostAsync($"/api/v1/environments/{theirs.StagingId}/mailtest/enable", null), HttpStatusCode.NotFound);

        Assert.Contains("no such environment", problem.GetProperty("detail").GetString());
        Assert.Equal("disabled", (await theirs.Owner.GetFromJsonAsync<JsonElement>($"/api/v1/environments/{theirs.StagingId}/mailtest")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task The_kill_switch_is_for_platform_administrators_only()
    {
        var org = await OrganizationAsync();
        var (admin, _) = await ClientAsync(null, platformAdmin: true);
        var killSwitch = _host.Services.GetRequiredService<KillSwitch>();

        var refused = await ProblemAsync(await org.Owner.PutAsJsonAsync("/api/v1/admin/kill-switch", new { enabled = true }), HttpStatusCode.Forbidden);
        Assert.Contains("platform administrators", refused.GetProperty("detail").GetString());
        Assert.False(await killSwitch.IsOnAsync());

        await ProblemAsync(await admin.PutAsJsonAsync("/api/v1/admin/kill-switch", new { }), HttpStatusCode.BadRequest);
        var on = await admin.PutAsJsonAsync("/api/v1/admin/kill-switch", new { enabled = true });
        Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        Assert.True(await killSwitch.IsOnAsync());
        await admin.PutAsJsonAsync("/api/v1/admin/kill-switch", new { enabled = false });
        Assert.False(await killSwitch.IsOnAsync());
    }

    private Task<MailtestDbContext> Db() => _host.Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();

    private async Task SetRotatingAsync(Guid environmentId)
    {
        await using var db = await Db();
        await db.Environments.Where(e => e.Id == environmentId).ExecuteUpdateAsync(s => s.SetProperty(e => e.IsRotating, true));
    }

    private async Task<bool> LoginIsValidAsync(string username, string password)
    {
        await using var db = await Db();
        var issuer = _host.Services.GetRequiredService<CredentialIssuer>();
        var active = await db.SmtpCredentials.AsNoTracking().Where(c => c.Username == username && c.RevokedUtc == null).ToListAsync();
        return active.Any(c => issuer.Matches(password, c.PasswordHash));
    }

    [Fact]
    public async Task The_Odoo_connection_is_set_sealed_refused_while_enabled_and_cleared_through_the_API()
    {
        var org = await OrganizationAsync();
        const string connection = "Host=odoo-db.internal;Database=shop;Username=odoo;Password=s3cret-odoo-pass";
        var url = $"/api/v1/environments/{org.StagingId}/odoo";

        Assert.Equal(HttpStatusCode.NoContent, (await org.Owner.PutAsJsonAsync(url, new { version = 17, connectionString = connection })).StatusCode);
        await using (var db = await _host.Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync())
        {
            var environment = await db.Environments.SingleAsync(e => e.Id == org.StagingId);
            Assert.Equal(17, environment.OdooVersion);
            Assert.DoesNotContain("s3cret-odoo-pass", System.Text.Encoding.UTF8.GetString(environment.OdooConnectionEncrypted!));
            Assert.Equal("database \"shop\" on odoo-db.internal:5432",
                _host.Services.GetRequiredService<Mailtest.Core.Odoo.OdooConnectionSecret>().Open(environment).Description);
            Assert.All(await db.AuditEntries.Where(a => a.EnvironmentId == org.StagingId).ToListAsync(),
                entry => Assert.DoesNotContain("s3cret", entry.Detail ?? ""));
        }

        var unsupported = await ProblemAsync(await org.Owner.PutAsJsonAsync(url, new { version = 12, connectionString = connection }), HttpStatusCode.BadRequest);
        Assert.Contains("Odoo 13 to 19", unsupported.GetProperty("detail").GetString());

        var (member, _) = await ClientAsync(org.OrganizationId);
        await ProblemAsync(await member.PutAsJsonAsync(url, new { version = 16, connectionString = connection }), HttpStatusCode.NotFound);

        await using (var db = await _host.Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync())
            await db.Environments.Where(e => e.Id == org.StagingId).ExecuteUpdateAsync(u => u.SetProperty(e => e.MailtestState, MailtestState.Enabled));
        var whileEnabled = await ProblemAsync(await org.Owner.DeleteAsync(url), HttpStatusCode.Conflict);
        Assert.Contains("Disable Mailtest", whileEnabled.GetProperty("detail").GetString());

        await using (var db = await _host.Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync())
            await db.Environments.Where(e => e.Id == org.StagingId).ExecuteUpdateAsync(u => u.SetProperty(e => e.MailtestState, MailtestState.Disabled));
        Assert.Equal(HttpStatusCode.NoContent, (await org.Owner.DeleteAsync(url)).StatusCode);
        await using (var db = await _host.Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync())
        {
            var cleared = await db.Environments.SingleAsync(e => e.Id == org.StagingId);
            Assert.Null(cleared.OdooVersion);
            Assert.Null(cleared.OdooConnectionEncrypted);
        }
    }
}
