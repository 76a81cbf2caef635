using Mailtest.Core.Odoo;
using Mailtest.Core.Audit;
using Mailtest.Core.Capture;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Tests.Lifecycle;

/// <summary>Every rule and transition of the Mailtest lifecycle, on real PostgreSQL with a fake Odoo.</summary>
[TestCategory(Needs.Postgres)]
public sealed class MailtestLifecycleTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly LifecycleWorld _world = new(postgres);

    public ValueTask InitializeAsync() => _world.InitializeAsync();
    public ValueTask DisposeAsync() => _world.DisposeAsync();

    private MailtestLifecycle Lifecycle => _world.Lifecycle;

    [Fact]
    public async Task Production_environments_are_refused()
    {
        var scene = await _world.SceneAsync(kind: EnvironmentKind.Production);

        var refused = await Assert.ThrowsAsync<AccessDeniedException>(() => Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId));

        Assert.Contains("Mailtest cannot be enabled on production environments", refused.Message);
        var status = await Lifecycle.GetStatusAsync(scene.Owner, scene.EnvironmentId);
        Assert.Equal(MailtestState.Disabled, status.State);
        Assert.Null(status.Username);
        Assert.Contains("production", status.EnableRefusal!.Message);
    }

    [Fact]
    public async Task The_free_plan_is_refused()
    {
        var scene = await _world.SceneAsync(plan: Plan.Free);

        var refused = await Assert.ThrowsAsync<AccessDeniedException>(() => Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId));

        Assert.Contains("Free plan", refused.Message);
        Assert.Equal(MailtestState.Disabled, (await _world.EnvironmentAsync(scene.EnvironmentId)).MailtestState);
    }

    [Fact]
    public async Task A_member_needs_the_manage_permission_and_an_admin_holds_it_without_grants()
    {
        var scene = await _world.SceneAsync();
        var viewer = await _world.MemberAsync(scene.Organization.Id, OrganizationRole.Member, (scene.Project.Id, ProjectPermission.MailtestView));
        var manager = await _world.MemberAsync(scene.Organization.Id, OrganizationRole.Member, (scene.Project.Id, ProjectPermission.MailtestManage));
        var admin = await _world.MemberAsync(scene.Organization.Id, OrganizationRole.Admin);

        var refused = await Assert.ThrowsAsync<AccessDeniedException>(() => Lifecycle.EnableAsync(viewer, scene.EnvironmentId));
        Assert.Contains("project.mailtest.manage", refused.Message);
        var viewerStatus = await Lifecycle.GetStatusAsync(viewer, scene.EnvironmentId);
        Assert.False(viewerStatus.CallerCanManage);
        Assert.Contains("project.mailtest.manage", viewerStatus.EnableRefusal!.Message);

        await Lifecycle.EnableAsync(manager, scene.EnvironmentId);
        await Lifecycle.RotateAsync(admin, scene.EnvironmentId);
        await Assert.ThrowsAsync<AccessDeniedException>(() => Lifecycle.DisableAsync(viewer, scene.EnvironmentId));
    }

    [Fact]
    public async Task Another_organizations_environment_is_not_found()
    {
        var mine = await _world.SceneAsync();
        var theirs = await _world.SceneAsync();
        // A member of my organization without any grant cannot see its environments either.
        var stranger = await _world.MemberAsync(mine.Organization.Id, OrganizationRole.Member);

        await Assert.ThrowsAsync<NotFoundException>(() => Lifecycle.GetStatusAsync(mine.Owner, theirs.EnvironmentId));
        await Assert.ThrowsAsync<NotFoundException>(() => Lifecycle.EnableAsync(mine.Owner, theirs.EnvironmentId));
        await Assert.ThrowsAsync<NotFoundException>(() => Lifecycle.DisableAsync(mine.Owner, theirs.EnvironmentId));
        await Assert.ThrowsAsync<NotFoundException>(() => Lifecycle.EnableAsync(stranger, mine.EnvironmentId));
        Assert.Equal(MailtestState.Disabled, (await _world.EnvironmentAsync(theirs.EnvironmentId)).MailtestState);
    }

    [Fact]
    public async Task Enabling_without_Odoo_issues_credentials_only_and_reveals_them_once()
    {
        var scene = await _world.SceneAsync();

        var enabled = await Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId);

        Assert.Equal(("mail.example.test", 587, "STARTTLS"), (enabled.Host, enabled.Port, enabled.Encryption));
        Assert.Matches("^org-[a-z0-9]{6}-env-[a-z0-9]{6}$", enabled.Username);
        Assert.True(await _world.LoginIsValidAsync(enabled.Username, enabled.Password));
        Assert.DoesNotContain(_world.Odoo.Calls, c => c.EndsWith(scene.EnvironmentId.ToString()));
        var status = await Lifecycle.GetStatusAsync(scene.Owner, scene.EnvironmentId);
        Assert.Equal((MailtestState.Enabled, enabled.Username), (status.State, status.Username));
        var audit = await _world.AuditAsync(scene.EnvironmentId);
        Assert.Contains(audit, a => a.Action == AuditActions.MailtestEnable && a.Actor == scene.Owner.Email && a.RemoteAddress == "192.0.2.10");
        Assert.DoesNotContain(audit, a => (a.Detail ?? "").Contains(enabled.Password));
        await Assert.ThrowsAsync<MailtestConflictException>(() => Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId));
    }

    [Fact]
    public async Task Enabling_with_Odoo_writes_the_same_login_into_Odoo()
    {
        var scene = await _world.SceneAsync(odooVersion: 17);

        var enabled = await Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId);

        Assert.Equal(new Mailtest.Core.Odoo.OdooSmtpLogin(enabled.Username, enabled.Password), _world.Odoo.LoginOf(scene.EnvironmentId));
        Assert.True(await _world.LoginIsValidAsync(enabled.Username, enabled.Password));
    }

    [Fact]
    public async Task When_Odoo_refuses_enable_nothing_changes()
    {
        var scene = await _world.SceneAsync(odooVersion: 14);
        _world.Odoo.FailNextCalls = true;
        try
        {
            await Assert.ThrowsAsync<Mailtest.Core.Odoo.OdooRoutingException>(() => Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId));
        }
        finally { _world.Odoo.FailNextCalls = false; }

        Assert.Equal(MailtestState.Disabled, (await _world.EnvironmentAsync(scene.EnvironmentId)).MailtestState);
        await using var db = await _world.DbAsync();
        Assert.False(await db.SmtpCredentials.AnyAsync(c => c.EnvironmentId == scene.EnvironmentId));
    }

    [Fact]
    public async Task The_consent_follows_the_Odoo_version_and_lists_templates_that_will_fail()
    {
        var modern = await _world.SceneAsync(odooVersion: 17);
        var legacy = await _world.SceneAsync(odooVersion: 14);
        var plain = await _world.SceneAsync();
        _world.Odoo.TemplatesWithExplicitServer = ["Invoice: Send by email"];

        var c = await Lifecycle.PrepareConsentAsync(modern.Owner, modern.EnvironmentId);
        var d = await Lifecycle.PrepareConsentAsync(legacy.Owner, legacy.EnvironmentId);
        var none = await Lifecycle.PrepareConsentAsync(plain.Owner, plain.EnvironmentId);

        Assert.Equal((OdooRoutingApproach.C, 17), (c.Approach, c.OdooVersion));
        Assert.Equal(["Invoice: Send by email"], c.TemplatesWithExplicitServer);
        Assert.Equal(OdooRoutingApproach.D, d.Approach);
        Assert.Null(none.Approach);
    }

    [Fact]
    public async Task Rotation_blocks_AUTH_while_Odoo_is_updated_then_releases_with_only_the_new_password()
    {
        var scene = await _world.SceneAsync(odooVersion: 17);
        var first = await Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId);
        bool? flagDuringRotation = null;
        _world.Odoo.DuringRotate = async e =>
        {
            if (e.Id == scene.EnvironmentId) flagDuringRotation = (await _world.EnvironmentAsync(e.Id)).IsRotating;
        };
        try
        {
            var rotated = await Lifecycle.RotateAsync(scene.Owner, scene.EnvironmentId);

            Assert.True(flagDuringRotation, "IsRotating is set while Odoo is being updated (AUTH answers 421)");
            Assert.False((await _world.EnvironmentAsync(scene.EnvironmentId)).IsRotating);
            Assert.Equal(first.Username, rotated.Username);
            Assert.NotEqual(first.Password, rotated.Password);
            Assert.False(await _world.LoginIsValidAsync(first.Username, first.Password));
            Assert.True(await _world.LoginIsValidAsync(rotated.Username, rotated.Password));
            Assert.Equal(rotated.Password, _world.Odoo.LoginOf(scene.EnvironmentId)!.Password);
            Assert.Contains(await _world.AuditAsync(scene.EnvironmentId), a => a.Action == AuditActions.MailtestRotate);
        }
        finally { _world.Odoo.DuringRotate = null; }
    }

    [Fact]
    public async Task A_stuck_rotation_keeps_the_flag_and_retry_finishes_it_with_a_fresh_password()
    {
        var scene = await _world.SceneAsync(odooVersion: 16);
        var first = await Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId);

        _world.Odoo.FailNextCalls = true;
        MailtestRotationStuckException stuck;
        try { stuck = await Assert.ThrowsAsync<MailtestRotationStuckException>(() => Lifecycle.RotateAsync(scene.Owner, scene.EnvironmentId)); }
        finally { _world.Odoo.FailNextCalls = false; }

        Assert.Contains("Retry", stuck.Message);
        var status = await Lifecycle.GetStatusAsync(scene.Owner, scene.EnvironmentId);
        Assert.True(status.IsRotating);
        Assert.Equal(first.Password, _world.Odoo.LoginOf(scene.EnvironmentId)!.Password);
        await Assert.ThrowsAsync<MailtestConflictException>(() => Lifecycle.RotateAsync(scene.Owner, scene.EnvironmentId));

        var retried = await Lifecycle.RetryRotationAsync(scene.Owner, scene.EnvironmentId);

        Assert.False((await _world.EnvironmentAsync(scene.EnvironmentId)).IsRotating);
        Assert.True(await _world.LoginIsValidAsync(retried.Username, retried.Password));
        Assert.False(await _world.LoginIsValidAsync(first.Username, first.Password));
        Assert.Equal(retried.Password, _world.Odoo.LoginOf(scene.EnvironmentId)!.Password);
        var actions = (await _world.AuditAsync(scene.EnvironmentId)).Select(a => a.Action).ToList();
        Assert.Equal([AuditActions.MailtestEnable, AuditActions.MailtestRotateFailed, AuditActions.MailtestRotateRetry], actions);
        await Assert.ThrowsAsync<MailtestConflictException>(() => Lifecycle.RetryRotationAsync(scene.Owner, scene.EnvironmentId));
    }

    [Fact]
    public async Task Aborting_a_stuck_rotation_clears_the_flag_and_keeps_the_old_credentials()
    {
        var scene = await _world.SceneAsync(odooVersion: 16);
        var first = await Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId);
        _world.Odoo.FailNextCalls = true;
        try { await Assert.ThrowsAsync<MailtestRotationStuckException>(() => Lifecycle.RotateAsync(scene.Owner, scene.EnvironmentId)); }
        finally { _world.Odoo.FailNextCalls = false; }

        await Lifecycle.AbortRotationAsync(scene.Owner, scene.EnvironmentId);

        var environment = await _world.EnvironmentAsync(scene.EnvironmentId);
        Assert.False(environment.IsRotating);
        Assert.Equal(MailtestState.Enabled, environment.MailtestState);
        Assert.True(await _world.LoginIsValidAsync(first.Username, first.Password));
        Assert.Contains(await _world.AuditAsync(scene.EnvironmentId), a => a.Action == AuditActions.MailtestRotateAbort);
        await Assert.ThrowsAsync<MailtestConflictException>(() => Lifecycle.AbortRotationAsync(scene.Owner, scene.EnvironmentId));
    }

    [Fact]
    public async Task Disabling_restores_Odoo_revokes_the_credentials_at_once_and_reports_what_is_kept()
    {
        var scene = await _world.SceneAsync(plan: Plan.Pro, odooVersion: 17);
        var enabled = await Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId);

        var before = DateTime.UtcNow;
        var disabled = await Lifecycle.DisableAsync(scene.Owner, scene.EnvironmentId);

        Assert.False(await _world.LoginIsValidAsync(enabled.Username, enabled.Password));
        Assert.Null(_world.Odoo.LoginOf(scene.EnvironmentId));
        Assert.Equal(0, disabled.KeptMessages);
        Assert.InRange(disabled.KeptUntilUtc, before.AddDays(90).AddMinutes(-1), DateTime.UtcNow.AddDays(90).AddMinutes(1));
        var status = await Lifecycle.GetStatusAsync(scene.Owner, scene.EnvironmentId);
        Assert.Equal(MailtestState.Disabled, status.State);
        Assert.Null(status.Username);
        Assert.Contains(await _world.AuditAsync(scene.EnvironmentId), a => a.Action == AuditActions.MailtestDisable);
        await Assert.ThrowsAsync<MailtestConflictException>(() => Lifecycle.DisableAsync(scene.Owner, scene.EnvironmentId));
    }

    [Fact]
    public async Task After_a_downgrade_to_Free_Mailtest_can_still_be_disabled_but_not_rotated()
    {
        var scene = await _world.SceneAsync();
        await Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId);
        await using (var db = await _world.DbAsync())
            await db.Organizations.Where(o => o.Id == scene.Organization.Id).ExecuteUpdateAsync(s => s.SetProperty(o => o.Plan, Plan.Free));

        await Assert.ThrowsAsync<AccessDeniedException>(() => Lifecycle.RotateAsync(scene.Owner, scene.EnvironmentId));
        var disabled = await Lifecycle.DisableAsync(scene.Owner, scene.EnvironmentId);

        Assert.Equal(MailtestState.Disabled, (await _world.EnvironmentAsync(scene.EnvironmentId)).MailtestState);
        Assert.True(disabled.KeptUntilUtc <= DateTime.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task Re_enable_after_tampering_reroutes_Odoo_with_a_new_login()
    {
        var scene = await _world.SceneAsync(odooVersion: 17);
        var first = await Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId);
        await _world.UpdateAsync(scene.EnvironmentId, e => { e.MailtestState = MailtestState.TamperDetected; e.TamperReason = "The Mailtest mail server row was deleted."; });

        var tampered = await Lifecycle.GetStatusAsync(scene.Owner, scene.EnvironmentId);
        Assert.Equal((MailtestState.TamperDetected, "The Mailtest mail server row was deleted."), (tampered.State, tampered.TamperReason));
        Assert.Null(tampered.EnableRefusal);
        await Assert.ThrowsAsync<MailtestConflictException>(() => Lifecycle.RotateAsync(scene.Owner, scene.EnvironmentId));

        var again = await Lifecycle.EnableAsync(scene.Owner, scene.EnvironmentId);

        var environment = await _world.EnvironmentAsync(scene.EnvironmentId);
        Assert.Equal(MailtestState.Enabled, environment.MailtestState);
        Assert.Null(environment.TamperReason);
        Assert.Equal(again.Password, _world.Odoo.LoginOf(scene.EnvironmentId)!.Password);
        Assert.False(await _world.LoginIsValidAsync(first.Username, first.Password));
        Assert.True(await _world.LoginIsValidAsync(again.Username, again.Password));
        Assert.Contains(await _world.AuditAsync(scene.EnvironmentId), a => a.Action == AuditActions.MailtestReEnable);
    }

    [Fact]
    public async Task Only_platform_administrators_turn_the_kill_switch_and_it_is_audited()
    {
        var scene = await _world.SceneAsync();
        var admin = await _world.UserAsync(isPlatformAdmin: true);
        var adminCaller = new Caller(admin.Id, admin.Email, true, "192.0.2.99");
        var killSwitch = (KillSwitch)_world.Services.GetService(typeof(KillSwitch))!;

        await Assert.ThrowsAsync<AccessDeniedException>(() => Lifecycle.SetKillSwitchAsync(scene.Owner, true));
        Assert.False(await killSwitch.IsOnAsync());

        await Lifecycle.SetKillSwitchAsync(adminCaller, true);
        Assert.True(await killSwitch.IsOnAsync());
        await Lifecycle.SetKillSwitchAsync(adminCaller, false);
        Assert.False(await killSwitch.IsOnAsync());

        await using var db = await _world.DbAsync();
        var entries = await db.AuditEntries.Where(a => a.ActorUserId == admin.Id).OrderBy(a => a.Id).Select(a => a.Action + ":" + a.Detail).ToListAsync();
        Assert.Equal(["platform.kill-switch:on", "platform.kill-switch:off"], entries);
    }

    [Fact]
    public async Task Break_glass_access_to_an_organizations_mail_is_for_platform_admins_and_audited()
    {
        var scene = await _world.SceneAsync();
        var admin = await _world.UserAsync(isPlatformAdmin: true);
        var adminCaller = new Caller(admin.Id, admin.Email, true, "192.0.2.77");
        var access = (AccessRules)_world.Services.GetService(typeof(AccessRules))!;

        await Assert.ThrowsAsync<AccessDeniedException>(() => access.BreakGlassEnvironmentsAsync(scene.Owner, scene.Organization.Id, "curious about their mail"));
        await Assert.ThrowsAsync<AccessDeniedException>(() => access.BreakGlassEnvironmentsAsync(adminCaller, scene.Organization.Id, ""));
        var environments = await access.BreakGlassEnvironmentsAsync(adminCaller, scene.Organization.Id, "Incident 4711: customer reports lost mail");

        Assert.Equal([scene.EnvironmentId], environments.Select(e => e.Id));
        await using var db = await _world.DbAsync();
        var entry = await db.AuditEntries.SingleAsync(a => a.ActorUserId == admin.Id);
        Assert.Equal((AuditActions.BreakGlassMailAccess, scene.Organization.Id, "Incident 4711: customer reports lost mail", "192.0.2.77"),
            (entry.Action, entry.OrganizationId!.Value, entry.Detail!, entry.RemoteAddress!));
    }
}
