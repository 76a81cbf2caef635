using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Odoo;
using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mailtest.Core.Capture;

/// <summary>What the consent dialog must say.</summary>
/// <param name="Approach">How Odoo will be changed; null without an Odoo connection (credentials only, for any application).</param>
public sealed record MailtestConsent(OdooRoutingApproach? Approach, int? OdooVersion, IReadOnlyList<string> TemplatesWithExplicitServer, string? InspectionError);

/// <summary>The Mailtest tab's view of one environment.</summary>
public sealed record MailtestStatus(
    Guid EnvironmentId, string EnvironmentName, EnvironmentKind Kind, Guid OrganizationId, Plan Plan,
    MailtestState State, bool IsRotating, DateTime? RotationStartedUtc, string? TamperReason,
    string Host, int Port, string? Username, int CapturedMessages, int? OdooVersion, bool HasOdooConnection,
    bool CallerCanManage, MailtestRefusal? EnableRefusal, MailtestRefusal? RotateRefusal)
{
    /// <summary>How the state reads on the dashboard.</summary>
    public string StateText => MailtestStateText.Of(State, IsRotating, Kind);
}

public sealed record EnabledMailtest(string Host, int Port, string Encryption, string Username, string Password);
public sealed record DisabledMailtest(int KeptMessages, DateTime KeptUntilUtc);

/// <summary>
/// Mailtest on one environment: enable, rotate (with retry and abort when it gets stuck), disable,
/// re-enable after tampering, and the platform kill switch. Every transition goes through
/// <see cref="MailtestLifecycleRules"/> and is written to the audit log. Odoo is reconfigured only
/// for environments with an Odoo connection, through <see cref="IOdooMailRouting"/>; an install
/// without the Odoo integration registered still serves credentials-only environments.
/// </summary>
public sealed class MailtestLifecycle(
    IDbContextFactory<MailtestDbContext> dbFactory,
    AccessRules access,
    CredentialIssuer credentials,
    KillSwitch killSwitch,
    SmtpCredentialCache credentialCache,
    AuditLog audit,
    IMessageStore messageStore,
    PlanGrace planGrace,
    IOptions<PlanOptions> plans,
    IOptions<PublicSmtpOptions> smtp,
    TimeProvider clock,
    IOdooMailRouting? odooRouting = null)
{
    public const string Encryption = "STARTTLS";

    /// <summary>Until when mail captured now is kept: the plan's retention window, or the grace's rule after a downgrade.</summary>
    private DateTime KeptUntil(Organization organization) => PlanGrace.PurgedAfter(planGrace.For(organization, Now), Now);

    public async Task<MailtestStatus> GetStatusAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var (environment, facts) = await FactsAsync(caller, environmentId, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var username = await db.SmtpCredentials.Where(c => c.EnvironmentId == environmentId && c.RevokedUtc == null)
            .OrderByDescending(c => c.CreatedUtc).Select(c => c.Username).FirstOrDefaultAsync(cancellationToken);
        var count = await messageStore.CountAsync(environmentId, cancellationToken);
        return new MailtestStatus(
            environment.Id, environment.Name, environment.Kind, environment.Project!.OrganizationId, facts.Plan,
            environment.MailtestState, environment.IsRotating, environment.RotationStartedUtc, environment.TamperReason,
            smtp.Value.Host, smtp.Value.EffectivePort, environment.MailtestState == MailtestState.Disabled ? null : username,
            count, environment.OdooVersion, environment.OdooConnectionEncrypted is not null,
            facts.CallerCanManage, MailtestLifecycleRules.Check(MailtestTransition.Enable, facts), MailtestLifecycleRules.Check(MailtestTransition.Rotate, facts));
    }

    /// <summary>What the consent dialog must say: the approach for the environment's Odoo, and templates that will fail visibly.</summary>
    public async Task<MailtestConsent> PrepareConsentAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var environment = await RequireAsync(caller, environmentId, MailtestTransition.Enable, cancellationToken);
        if (environment.OdooConnectionEncrypted is null) return new MailtestConsent(null, null, [], null);
        // The configured version until Odoo itself answers.
        var approach = OdooRoutingApproaches.For(environment.OdooVersion ?? OdooRoutingApproaches.FirstWithMarkerOnly);
        if (odooRouting is not { } routing)
            return new MailtestConsent(approach, environment.OdooVersion, [], "The Odoo integration is not installed on this server, so Odoo cannot be reconfigured.");
        try
        {
            var inspection = await routing.InspectAsync(environment, cancellationToken);
            return new MailtestConsent(inspection.Approach, inspection.Version, inspection.TemplatesWithExplicitServer, null);
        }
        catch (OdooRoutingException e)
        {
            return new MailtestConsent(approach, environment.OdooVersion, [], e.Message);
        }
    }

    /// <summary>Enables Mailtest (or re-enables it after tampering) and returns the password, shown once.</summary>
    public async Task<EnabledMailtest> EnableAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var environment = await RequireAsync(caller, environmentId, MailtestTransition.Enable, cancellationToken);
        var reEnable = environment.MailtestState == MailtestState.TamperDetected;
        var username = CredentialIssuer.UsernameFor(environment.Project!.Organization!.Slug, environment.Slug);
        var password = CredentialIssuer.NewPassword();

        // Odoo first: if it refuses, nothing has changed here either.
        if (environment.OdooConnectionEncrypted is not null)
            await RequireOdooRouting().EnableAsync(environment, new OdooSmtpLogin(username, password), cancellationToken);
        await credentials.StoreAsync(environmentId, password, cancellationToken);
        await UpdateEnvironmentAsync(environmentId, e =>
        {
            e.MailtestState = MailtestState.Enabled;
            e.MailtestEnabledUtc = Now;
            e.TamperReason = null;
            e.IsRotating = false;
            e.RotationStartedUtc = null;
        }, cancellationToken);
        await audit.RecordAsync(caller, reEnable ? AuditActions.MailtestReEnable : AuditActions.MailtestEnable,
            environment.Project.OrganizationId, environmentId, environment.Name, cancellationToken);
        return new EnabledMailtest(smtp.Value.Host, smtp.Value.EffectivePort, Encryption, username, password);
    }

    /// <summary>
    /// Rotates the password: AUTH is blocked (421 4.7.0) while the flag is set, Odoo is updated in
    /// place, the new password becomes the only valid one, and the flag is cleared. If Odoo cannot be
    /// updated the flag stays and <see cref="MailtestRotationStuckException"/> says so.
    /// </summary>
    public async Task<IssuedCredential> RotateAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var environment = await RequireAsync(caller, environmentId, MailtestTransition.Rotate, cancellationToken);
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var now = Now;
            // Conditional: of two rotations started at once, one wins and the other is told.
            var claimed = await db.Environments.Where(e => e.Id == environmentId && !e.IsRotating && e.MailtestState == MailtestState.Enabled)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.IsRotating, true).SetProperty(e => e.RotationStartedUtc, now), cancellationToken);
            if (claimed == 0) throw new MailtestConflictException("A rotation is already in progress on this environment: retry it or abort it.");
        }
        EnvironmentChanged(environmentId);
        return await CompleteRotationAsync(caller, environment, AuditActions.MailtestRotate, cancellationToken);
    }

    /// <summary>Finishes a stuck rotation with a fresh password (the same steps again; safe to repeat).</summary>
    public async Task<IssuedCredential> RetryRotationAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var environment = await RequireAsync(caller, environmentId, MailtestTransition.RetryRotation, cancellationToken);
        return await CompleteRotationAsync(caller, environment, AuditActions.MailtestRotateRetry, cancellationToken);
    }

    /// <summary>Gives up a stuck rotation: the flag is cleared and the old credentials stay valid.</summary>
    public async Task AbortRotationAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var environment = await RequireAsync(caller, environmentId, MailtestTransition.AbortRotation, cancellationToken);
        await UpdateEnvironmentAsync(environmentId, e => { e.IsRotating = false; e.RotationStartedUtc = null; }, cancellationToken);
        await audit.RecordAsync(caller, AuditActions.MailtestRotateAbort, environment.Project!.OrganizationId, environmentId, environment.Name, cancellationToken);
    }

    /// <summary>
    /// Restores Odoo, revokes the credentials (AUTH answers 535 at once) and keeps the captured mail
    /// until the plan's retention ends.
    /// </summary>
    public async Task<DisabledMailtest> DisableAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var environment = await RequireAsync(caller, environmentId, MailtestTransition.Disable, cancellationToken);
        if (environment.OdooConnectionEncrypted is not null)
            await RequireOdooRouting().DisableAsync(environment, cancellationToken);
        await credentials.RevokeAsync(environmentId, cancellationToken);
        await UpdateEnvironmentAsync(environmentId, e =>
        {
            e.MailtestState = MailtestState.Disabled;
            e.MailtestDisabledUtc = Now;
            e.IsRotating = false;
            e.RotationStartedUtc = null;
            e.TamperReason = null;
        }, cancellationToken);
        var kept = await messageStore.CountAsync(environmentId, cancellationToken);
        var keptUntil = KeptUntil(environment.Project!.Organization!);
        await audit.RecordAsync(caller, AuditActions.MailtestDisable, environment.Project.OrganizationId, environmentId,
            $"{environment.Name}: {kept} messages kept until {keptUntil:yyyy-MM-dd}", cancellationToken);
        return new DisabledMailtest(kept, keptUntil);
    }

    /// <summary>What disabling would keep, for the confirmation dialog.</summary>
    public async Task<DisabledMailtest> PreviewDisableAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var environment = await RequireAsync(caller, environmentId, MailtestTransition.Disable, cancellationToken);
        var kept = await messageStore.CountAsync(environmentId, cancellationToken);
        return new DisabledMailtest(kept, KeptUntil(environment.Project!.Organization!));
    }

    /// <summary>The platform kill switch (platform administrators only).</summary>
    public async Task SetKillSwitchAsync(Caller caller, bool on, CancellationToken cancellationToken = default)
    {
        if (!caller.IsPlatformAdmin)
            throw new AccessDeniedException("Only platform administrators can switch Mailtest off platform-wide.");
        await killSwitch.SetAsync(on, cancellationToken);
        await audit.RecordAsync(caller, AuditActions.KillSwitch, detail: on ? "on" : "off", cancellationToken: cancellationToken);
    }

    private async Task<IssuedCredential> CompleteRotationAsync(Caller caller, ProjectEnvironment environment, string action, CancellationToken cancellationToken)
    {
        var username = CredentialIssuer.UsernameFor(environment.Project!.Organization!.Slug, environment.Slug);
        var password = CredentialIssuer.NewPassword();
        if (environment.OdooConnectionEncrypted is not null)
        {
            try
            {
                await RequireOdooRouting().RotateAsync(environment, new OdooSmtpLogin(username, password), cancellationToken);
            }
            catch (Exception e) when (e is OdooRoutingException or MailtestConflictException)
            {
                await audit.RecordAsync(caller, AuditActions.MailtestRotateFailed, environment.Project.OrganizationId, environment.Id, e.Message, cancellationToken);
                throw new MailtestRotationStuckException(
                    $"Rotation is stuck: {e.Message} Retry to try again with a fresh password, or abort to keep the old credentials.", e);
            }
        }
        await credentials.StoreAsync(environment.Id, password, cancellationToken);
        await UpdateEnvironmentAsync(environment.Id, e => { e.IsRotating = false; e.RotationStartedUtc = null; }, cancellationToken);
        await audit.RecordAsync(caller, action, environment.Project.OrganizationId, environment.Id, environment.Name, cancellationToken);
        return new IssuedCredential(username, password);
    }

    /// <summary>The environment if the caller may see it (else 404) and the rules allow the transition (else 403 / 409).</summary>
    private async Task<ProjectEnvironment> RequireAsync(Caller caller, Guid environmentId, MailtestTransition transition, CancellationToken cancellationToken)
    {
        var (environment, facts) = await FactsAsync(caller, environmentId, cancellationToken);
        if (MailtestLifecycleRules.Check(transition, facts) is { } refusal)
            throw refusal.IsPermission ? new AccessDeniedException(refusal.Message) : new MailtestConflictException(refusal.Message);
        return environment;
    }

    private async Task<(ProjectEnvironment Environment, MailtestFacts Facts)> FactsAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken)
    {
        var (environment, canManage) = await access.ResolveAsync(caller, environmentId, cancellationToken);
        var plan = environment.Project!.Organization!.Plan;
        return (environment, new MailtestFacts(environment.Kind, plan, plans.Value.For(plan).MailtestAvailable, canManage, environment.MailtestState, environment.IsRotating));
    }

    private IOdooMailRouting RequireOdooRouting() => odooRouting
        ?? throw new MailtestConflictException("This environment has an Odoo connection, but the Odoo integration is not installed on this server.");

    private async Task UpdateEnvironmentAsync(Guid environmentId, Action<ProjectEnvironment> change, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var environment = await db.Environments.SingleAsync(e => e.Id == environmentId, cancellationToken);
        change(environment);
        await db.SaveChangesAsync(cancellationToken);
        EnvironmentChanged(environmentId);
    }

    /// <summary>
    /// AUTH reads credentials and environment state from a short cache: after a change here (the
    /// rotation flag, a state change) this node must forget the environment at once.
    /// </summary>
    private void EnvironmentChanged(Guid environmentId) => credentialCache.Invalidate(environmentId);

    private DateTime Now => clock.GetUtcNow().UtcDateTime;
}
