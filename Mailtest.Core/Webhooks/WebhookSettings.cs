using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Mailtest.Core.Security;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Webhooks;

/// <summary>What the environment page and the API show of a webhook: never the secret itself.</summary>
public sealed record WebhookView(string? Url, string? SecretPrefix, DateTime? UpdatedUtc, IReadOnlyList<WebhookDelivery> RecentDeliveries);

/// <summary>Where to post and how to sign, for the dispatcher.</summary>
public sealed record WebhookTarget(Guid EnvironmentId, Guid OrganizationId, string EnvironmentName, string Url, string Secret);

/// <summary>
/// An environment's webhook: the URL, the generated signing secret (shown once, sealed at rest), and
/// the log of the last delivery attempts (written by <see cref="WebhookDeliveryLog"/>). Reading needs <c>project.mailtest.view</c>, changing needs
/// <c>project.mailtest.manage</c>; every change is audited (never with the secret).
/// </summary>
public sealed class WebhookSettings(IDbContextFactory<MailtestDbContext> dbFactory, AccessRules access, AuditLog audit, SecretBox box, TimeProvider clock)
{
    public const int MaxUrlLength = 2000;
    private const string SecretPrefix = "whsec_";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<Guid, (WebhookTarget? Target, DateTimeOffset ReadAt)> _targets = new();

    public async Task<WebhookView> GetAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestView, cancellationToken);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var webhook = await db.EnvironmentWebhooks.AsNoTracking().SingleOrDefaultAsync(w => w.EnvironmentId == environmentId, cancellationToken);
        var deliveries = await db.WebhookDeliveries.AsNoTracking().Where(d => d.EnvironmentId == environmentId)
            .OrderByDescending(d => d.Id).Take(WebhookDeliveryLog.LogSize).ToListAsync(cancellationToken);
        return new WebhookView(webhook?.Url, webhook?.SecretPrefix, webhook?.UpdatedUtc, deliveries);
    }

    /// <summary>Sets the URL. A new webhook gets a generated secret, returned here once; changing the URL keeps the secret.</summary>
    public async Task<string?> SetUrlAsync(Caller caller, Guid environmentId, string url, CancellationToken cancellationToken = default)
    {
        var parsed = ValidUrl(url);
        var environment = await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestManage, cancellationToken);
        string? newSecret = null;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var webhook = await db.EnvironmentWebhooks.SingleOrDefaultAsync(w => w.EnvironmentId == environmentId, cancellationToken);
            if (webhook is null)
            {
                newSecret = NewSecret();
                db.EnvironmentWebhooks.Add(webhook = new EnvironmentWebhook { EnvironmentId = environmentId, Url = parsed, SecretSealed = Seal(newSecret, environmentId), SecretPrefix = newSecret[..10] });
            }
            webhook.Url = parsed;
            webhook.UpdatedUtc = clock.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(cancellationToken);
        }
        _targets.TryRemove(environmentId, out _);
        await audit.RecordAsync(caller, AuditActions.WebhookChange, environment.Project!.OrganizationId, environmentId, $"Webhook URL set to {parsed}", cancellationToken);
        return newSecret;
    }

    /// <summary>A new secret, returned once; the old one stops signing at once.</summary>
    public async Task<string> RegenerateSecretAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var environment = await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestManage, cancellationToken);
        var secret = NewSecret();
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var webhook = await db.EnvironmentWebhooks.SingleOrDefaultAsync(w => w.EnvironmentId == environmentId, cancellationToken)
                ?? throw new TenancyException("This environment has no webhook; set its URL first.");
            webhook.SecretSealed = Seal(secret, environmentId);
            webhook.SecretPrefix = secret[..10];
            webhook.UpdatedUtc = clock.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(cancellationToken);
        }
        _targets.TryRemove(environmentId, out _);
        await audit.RecordAsync(caller, AuditActions.WebhookSecretRegenerate, environment.Project!.OrganizationId, environmentId, "Webhook secret regenerated", cancellationToken);
        return secret;
    }

    public async Task RemoveAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        var environment = await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestManage, cancellationToken);
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            if (await db.EnvironmentWebhooks.Where(w => w.EnvironmentId == environmentId).ExecuteDeleteAsync(cancellationToken) == 0) return;
        }
        _targets.TryRemove(environmentId, out _);
        await audit.RecordAsync(caller, AuditActions.WebhookRemove, environment.Project!.OrganizationId, environmentId, "Webhook removed", cancellationToken);
    }

    /// <summary>The target for a "send test", for a caller who may manage the environment.</summary>
    public async Task<WebhookTarget> RequireTargetAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestManage, cancellationToken);
        return await LoadTargetAsync(environmentId, cancellationToken)
            ?? throw new TenancyException("This environment has no webhook; set its URL first.");
    }

    /// <summary>The environment's target for the dispatcher (no caller: the event comes from ingest), cached for a few seconds.</summary>
    public async ValueTask<WebhookTarget?> FindTargetAsync(Guid environmentId, CancellationToken cancellationToken = default)
    {
        if (_targets.TryGetValue(environmentId, out var entry) && clock.GetUtcNow() - entry.ReadAt < CacheFor) return entry.Target;
        var target = await LoadTargetAsync(environmentId, cancellationToken);
        _targets[environmentId] = (target, clock.GetUtcNow());
        return target;
    }

    private async Task<WebhookTarget?> LoadTargetAsync(Guid environmentId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var found = await (
                from w in db.EnvironmentWebhooks
                where w.EnvironmentId == environmentId
                join e in db.Environments on w.EnvironmentId equals e.Id
                select new { w.Url, w.SecretSealed, e.Name, e.Project!.OrganizationId })
            .AsNoTracking().SingleOrDefaultAsync(cancellationToken);
        if (found is null) return null;
        var secret = Encoding.UTF8.GetString(box.Open(found.SecretSealed, environmentId.ToByteArray()));
        return new WebhookTarget(environmentId, found.OrganizationId, found.Name, found.Url, secret);
    }

    private byte[] Seal(string secret, Guid environmentId) => box.Seal(Encoding.UTF8.GetBytes(secret), environmentId.ToByteArray());

    private static string NewSecret() => SecretPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    private static string ValidUrl(string? url)
    {
        url = url?.Trim() ?? "";
        if (url.Length is 0 or > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new TenancyException($"The webhook URL must be an absolute http:// or https:// address of at most {MaxUrlLength} characters.");
        if (!string.IsNullOrEmpty(uri.UserInfo))
            throw new TenancyException("Put no user name or password in the webhook URL; check the Mailtest-Signature header instead.");
        if (!string.IsNullOrEmpty(uri.Fragment))
            throw new TenancyException("The webhook URL must not have a #fragment.");
        return uri.AbsoluteUri;
    }
}
