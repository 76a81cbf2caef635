using Bunit;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Data;
using Mailtest.Tests.Infrastructure;
using Mailtest.Web.Accounts;
using Mailtest.Web.Components.Environments;
using Mailtest.Web.Components.Retention;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace Mailtest.Tests.Components;

/// <summary>
/// The Mailtest tab (bUnit) on the real lifecycle over SQLite: which buttons a person gets, and
/// what rotating from the tab does. The panels inside the tab are tested on their own and stubbed here.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class MailtestTabTests : BunitContext, IClassFixture<SqliteCore>
{
    private readonly CoreServices _core;
    private readonly SignedInAs _signedIn = new(new Caller(Guid.Empty, "nobody@example.test", false));
    private readonly IRenderedComponent<MudDialogProvider> _dialogs;

    public MailtestTabTests(SqliteCore fixture)
    {
        _core = fixture.Core;
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
        Services.AddSingleton(_core.Get<MailtestLifecycle>());
        ComponentFactories.AddStub<PlanUsageLine>();
        ComponentFactories.AddStub<ExportPanel>();
        ComponentFactories.AddStub<EnvironmentTokensPanel>();
        ComponentFactories.AddStub<ClearMessagesPanel>();
        ComponentFactories.AddStub<SmtpFaultsPanel>();
        ComponentFactories.AddStub<WebhookPanel>();
        Services.AddSingleton(new CurrentCaller(_signedIn));
        Render<MudPopoverProvider>();
        _dialogs = Render<MudDialogProvider>();
    }

    /// <summary>An owner's staging environment with Mailtest enabled, and the tab as that owner sees it.</summary>
    private async Task<(Caller Owner, ProjectEnvironment Environment)> EnabledAsync(Plan plan = Plan.Pro)
    {
        var environment = await _core.CreateEnvironmentAsync(plan);
        var tenancy = _core.Get<TenancyAdministration>();
        var owner = await tenancy.CreateUserAsync($"owner-{Guid.NewGuid():N}@example.test", "a long password 1", isPlatformAdmin: false);
        await tenancy.AddMemberAsync(environment.Project!.OrganizationId, owner.Email, OrganizationRole.Owner);
        var caller = new Caller(owner.Id, owner.Email, false);
        await _core.Get<MailtestLifecycle>().EnableAsync(caller, environment.Id);
        return (caller, environment);
    }

    private IRenderedComponent<MailtestTab> TabFor(Caller caller, ProjectEnvironment environment)
    {
        _signedIn.Caller = caller;
        return Render<MailtestTab>(p => p.Add(t => t.EnvironmentId, environment.Id));
    }

    private async Task UpdateAsync(Guid environmentId, Action<ProjectEnvironment> change)
    {
        await using var db = await _core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        change(await db.Environments.Include(e => e.Project!).ThenInclude(p => p.Organization).SingleAsync(e => e.Id == environmentId));
        await db.SaveChangesAsync();
    }

    private static bool IsDisabled(IRenderedComponent<MailtestTab> tab, string testId) =>
        tab.Find($"[data-testid={testId}]").HasAttribute("disabled");

    [Fact]
    public async Task An_owner_rotates_from_the_tab_and_is_shown_the_new_password_once()
    {
        var (owner, environment) = await EnabledAsync();
        var tab = TabFor(owner, environment);
        tab.WaitForAssertion(() => Assert.Equal("Enabled", tab.Find("[data-testid=mailtest-state]").TextContent));
        Assert.False(IsDisabled(tab, "rotate-credentials"));

        // The click's handler waits for the person's answers in the dialogs: answer them, then let it finish.
        var rotating = tab.Find("[data-testid=rotate-credentials]").ClickAsync(new());
        _dialogs.WaitForElement("[data-testid=rotate-dialog]");
        var confirming = _dialogs.Find("[data-testid=rotate-confirm]").ClickAsync(new());

        var password = _dialogs.WaitForElement("[data-testid=reveal-password]").TextContent;
        Assert.Equal(tab.Find("[data-testid=mailtest-username]").TextContent, _dialogs.Find("[data-testid=reveal-username]").TextContent);
        await _dialogs.Find("[data-testid=reveal-close]").ClickAsync(new());
        await Task.WhenAll(rotating, confirming).WaitAsync(TimeSpan.FromSeconds(10));
        await using var db = await _core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        var active = await db.SmtpCredentials.AsNoTracking().SingleAsync(c => c.EnvironmentId == environment.Id && c.RevokedUtc == null);
        Assert.True(_core.Get<CredentialIssuer>().Matches(password, active.PasswordHash));
    }

    [Fact]
    public async Task After_a_downgrade_to_Free_the_owner_can_still_disable_but_not_rotate()
    {
        var (owner, environment) = await EnabledAsync();
        await UpdateAsync(environment.Id, e => e.Project!.Organization!.Plan = Plan.Free);

        var tab = TabFor(owner, environment);

        tab.WaitForAssertion(() => Assert.True(IsDisabled(tab, "rotate-credentials")));
        Assert.False(IsDisabled(tab, "disable-mailtest"));
        Assert.Equal("Enabled", tab.Find("[data-testid=mailtest-state]").TextContent);
    }

    [Fact]
    public async Task While_a_rotation_is_in_progress_the_state_says_so_and_rotate_waits()
    {
        var (owner, environment) = await EnabledAsync();
        await UpdateAsync(environment.Id, e => { e.IsRotating = true; e.RotationStartedUtc = DateTime.UtcNow; });

        var tab = TabFor(owner, environment);

        tab.WaitForAssertion(() => Assert.Equal("Rotation in progress", tab.Find("[data-testid=mailtest-state]").TextContent));
        Assert.True(IsDisabled(tab, "rotate-credentials"));
        Assert.False(IsDisabled(tab, "disable-mailtest"));
    }

    [Fact]
    public async Task A_member_who_may_only_view_sees_the_settings_but_no_buttons_to_change_them()
    {
        var (_, environment) = await EnabledAsync();
        var tenancy = _core.Get<TenancyAdministration>();
        var member = await tenancy.CreateUserAsync($"member-{Guid.NewGuid():N}@example.test", "a long password 1", isPlatformAdmin: false);
        await tenancy.AddMemberAsync(environment.Project!.OrganizationId, member.Email, OrganizationRole.Member);
        await using (var db = await _core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync())
        {
            db.ProjectGrants.Add(new ProjectGrant { ProjectId = environment.ProjectId, UserId = member.Id, Permission = ProjectPermission.MailtestView });
            await db.SaveChangesAsync();
        }

        var tab = TabFor(new Caller(member.Id, member.Email, false), environment);

        tab.WaitForAssertion(() => Assert.Equal("Enabled", tab.Find("[data-testid=mailtest-state]").TextContent));
        Assert.Equal("2525", tab.Find("[data-testid=mailtest-port]").TextContent); // no public port set: the listener's
        Assert.Empty(tab.FindAll("[data-testid=rotate-credentials]"));
        Assert.Empty(tab.FindAll("[data-testid=disable-mailtest]"));
    }

    [Fact]
    public async Task On_production_the_tab_says_why_Mailtest_cannot_be_enabled()
    {
        var environment = await _core.CreateEnvironmentAsync(Plan.Pro, EnvironmentKind.Production, "live");
        var tenancy = _core.Get<TenancyAdministration>();
        var owner = await tenancy.CreateUserAsync($"owner-{Guid.NewGuid():N}@example.test", "a long password 1", isPlatformAdmin: false);
        await tenancy.AddMemberAsync(environment.Project!.OrganizationId, owner.Email, OrganizationRole.Owner);

        var tab = TabFor(new Caller(owner.Id, owner.Email, false), environment);

        tab.WaitForAssertion(() => Assert.Equal(MailtestLifecycleRules.ProductionRefused, tab.Find("[data-testid=cannot-enable]").TextContent));
        Assert.True(tab.Find("[data-testid=enable-mailtest]").HasAttribute("disabled"));
    }
}
