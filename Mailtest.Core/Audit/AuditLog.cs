using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Audit;

/// <summary>The stable action names written to the audit log.</summary>
public static class AuditActions
{
    public const string MailtestEnable = "mailtest.enable";
    public const string MailtestReEnable = "mailtest.re-enable";
    public const string MailtestRotate = "mailtest.rotate";
    public const string MailtestRotateRetry = "mailtest.rotate.retry";
    public const string MailtestRotateAbort = "mailtest.rotate.abort";
    public const string MailtestRotateFailed = "mailtest.rotate.failed";
    public const string MailtestDisable = "mailtest.disable";
    public const string KillSwitch = "platform.kill-switch";
    public const string SignInFailed = "signin.failed";
    public const string SignInThrottled = "signin.throttled";
    public const string SignOut = "signout";
    public const string SignOutEverywhere = "admin.user.signout-everywhere";
    public const string UserDeactivated = "admin.user.deactivate";
    public const string UserReactivated = "admin.user.reactivate";
    public const string PasswordChanged = "account.password.change";
    public const string ApiTokenCreated = "api-token.create";
    public const string ApiTokenRevoked = "api-token.revoke";
    public const string EnvironmentTokenCreated = "environment-token.create";
    public const string EnvironmentTokenRevoked = "environment-token.revoke";
    public const string BreakGlassMailAccess = "admin.break-glass.mail";
    public const string OdooConnectionChange = "odoo.connection.change";
    public const string OdooTamperDetected = "odoo.tamper_detected";
    public const string OdooNeutralizeRepaired = "odoo.neutralize_repaired";
    public const string MessagesClear = "messages.clear";
    public const string RetentionPurge = "retention.purge";
    public const string PlanChange = "organization.plan.change";
    public const string ExportRequest = "export.request";
    public const string SmtpFaultsChange = "smtp-faults.change";
    public const string WebhookChange = "webhook.change";
    public const string WebhookSecretRegenerate = "webhook.secret.regenerate";
    public const string WebhookRemove = "webhook.remove";
}

public sealed record AuditPage(IReadOnlyList<AuditEntry> Items, int Total, int Page, int PageSize);

/// <summary>Who did what, when and from where. Entries are only ever added; the admin page reads them newest first.
/// The log knows actors by name and id only; recording a tenancy <c>Caller</c> is Tenancy's <c>CallerAudit</c>.</summary>
public sealed class AuditLog(IDbContextFactory<MailtestDbContext> dbFactory, TimeProvider clock)
{
    public async Task RecordAsync(Guid? actorUserId, string actor, string action, Guid? organizationId = null, Guid? environmentId = null,
        string? detail = null, string? remoteAddress = null, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.AuditEntries.Add(new AuditEntry
        {
            OccurredUtc = clock.GetUtcNow().UtcDateTime, ActorUserId = actorUserId, Actor = actor, Action = action,
            OrganizationId = organizationId, EnvironmentId = environmentId, Detail = detail, RemoteAddress = remoteAddress,
        });
        // The log must not lose an entry because the caller's request was cancelled after the change was made.
        await db.SaveChangesAsync(CancellationToken.None);
    }

    /// <summary>A page of entries, newest first; <paramref name="page"/> starts at 0.</summary>
    public async Task<AuditPage> PageAsync(int page, int pageSize = 50, CancellationToken cancellationToken = default)
    {
        page = Math.Max(0, page);
        pageSize = Math.Clamp(pageSize, 1, 200);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var total = await db.AuditEntries.CountAsync(cancellationToken);
        var items = await db.AuditEntries.AsNoTracking()
            .OrderByDescending(a => a.OccurredUtc).ThenByDescending(a => a.Id)
            .Skip(page * pageSize).Take(pageSize)
            .ToListAsync(cancellationToken);
        return new AuditPage(items, total, page, pageSize);
    }
}
