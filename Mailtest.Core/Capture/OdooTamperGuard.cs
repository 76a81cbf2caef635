using System.Collections.Concurrent;
using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Core.Capture;

/// <summary>
/// At AUTH, refuses an environment whose Odoo routing was tampered with. The check result is
/// reused for a short while per environment (and shared by concurrent logins) so AUTH stays cheap.
/// </summary>
public sealed class OdooTamperGuard(
    OdooTamperMonitor monitor,
    IOptions<OdooOptions> options,
    TimeProvider time,
    ILogger<OdooTamperGuard> logger) : ISmtpLoginGuard
{
    public static readonly SmtpReply Refusal = SmtpCaptureBackend.TamperDetected;

    private readonly ConcurrentDictionary<Guid, RecentCheck> _recent = new();

    private sealed record RecentCheck(Task<OdooTamperStatus> Status, DateTimeOffset Until);

    public async ValueTask<SmtpReply?> CheckAsync(ProjectEnvironment environment, CancellationToken cancellationToken)
    {
        if (environment.MailtestState == MailtestState.TamperDetected) return Refusal;
        if (environment.MailtestState != MailtestState.Enabled || environment.OdooConnectionEncrypted is null || environment.IsRotating)
            return null;

        var now = time.GetUtcNow();
        var recent = _recent.AddOrUpdate(environment.Id,
            _ => Start(environment, now),
            (_, existing) => existing.Until > now ? existing : Start(environment, now));
        OdooTamperStatus status;
        try
        {
            status = await recent.Status.WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A check that cannot run concludes nothing: mail keeps flowing, the sweep tries again.
            _recent.TryRemove(new KeyValuePair<Guid, RecentCheck>(environment.Id, recent));
            logger.LogError(e, "Odoo tamper check failed for environment {EnvironmentId}", environment.Id);
            return null;
        }
        if (status != OdooTamperStatus.Tampered) return null;
        // The environment's state now says so; a re-enable must not be refused by this cache.
        _recent.TryRemove(new KeyValuePair<Guid, RecentCheck>(environment.Id, recent));
        return Refusal;
    }

    private RecentCheck Start(ProjectEnvironment environment, DateTimeOffset now) =>
        // Not the caller's token: the result is shared with other logins.
        new(Task.Run(async () => (await monitor.CheckAndRecordAsync(environment, CancellationToken.None)).Status),
            now + options.Value.TamperCheckCacheDuration);
}
