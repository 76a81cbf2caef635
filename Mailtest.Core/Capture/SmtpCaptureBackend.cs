using Mailtest.Core.Messages;
using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Capture;

/// <summary>
/// Core's answers to the SMTP engine: the kill switch at connect, credentials and environment state
/// at AUTH, plan size and organization quota at MAIL FROM, and the durable store at the end of DATA.
/// The environment's fault injection (<see cref="SmtpFaultInjection"/>) may answer instead at AUTH,
/// MAIL FROM and RCPT TO, once the credential is known to be good.
/// </summary>
public sealed class SmtpCaptureBackend(
    KillSwitch killSwitch,
    SmtpCredentialCache credentials,
    CredentialIssuer issuer,
    IEnumerable<ISmtpLoginGuard> guards,
    PlanGrace plans,
    OrganizationUsage usage,
    CapPurgeTrigger capPurge,
    TimeProvider clock,
    MessageIngest ingest,
    SmtpFaultInjection faults,
    ILogger<SmtpCaptureBackend> logger) : ISmtpBackend
{
    public static readonly SmtpReply TamperDetected =
        new(535, "5.7.8", "Authentication failed: tampering detected in Odoo's mail server settings; re-enable Mailtest to fix");
    public static readonly SmtpReply RotationInProgress = new(421, "4.7.0", "Credential rotation in progress, try again shortly");
    public static readonly SmtpReply CredentialsNoLongerValid = new(421, "4.7.0", "Credentials are no longer valid, authenticate again");

    /// <summary>Compared against when the username is unknown, so a miss costs what a hit costs.</summary>
    private static readonly byte[] NoHash = new byte[32];

    public async ValueTask<SmtpReply?> CheckConnectionAsync(SmtpPeer peer, CancellationToken cancellationToken) =>
        await killSwitch.IsOnAsync(cancellationToken) ? SmtpStandardReplies.ShuttingDown : null;

    public async ValueTask<SmtpLoginResult> AuthenticateAsync(string username, string password, SmtpPeer peer, CancellationToken cancellationToken)
    {
        if (await killSwitch.IsOnAsync(cancellationToken)) return SmtpLoginResult.Refused(SmtpStandardReplies.ShuttingDown);

        var credential = await credentials.FindAsync(username, cancellationToken);
        if (!issuer.Matches(password, credential?.PasswordHash ?? NoHash) || credential is null)
            return SmtpLoginResult.Refused(SmtpStandardReplies.AuthenticationFailed);

        var environment = credential.Environment;
        var limits = LimitsOf(credential);
        // Odoo records the reply text in its mail queue: say why, so the user knows to re-enable.
        if (environment.MailtestState == MailtestState.TamperDetected)
            return SmtpLoginResult.Refused(TamperDetected);
        if (environment.MailtestState != MailtestState.Enabled
            || MailtestLifecycleRules.Availability(environment.Kind, credential.Plan, limits.MailtestAvailable) is not null)
            return SmtpLoginResult.Refused(SmtpStandardReplies.AuthenticationFailed);
        if (environment.IsRotating)
            return SmtpLoginResult.Refused(RotationInProgress);

        foreach (var guard in guards)
            if (await guard.CheckAsync(environment, cancellationToken) is { } refusal)
                return SmtpLoginResult.Refused(refusal);
        if (await faults.InjectAsync(environment.Id, SmtpFaultStage.Authentication, cancellationToken) is { } fault)
            return SmtpLoginResult.Refused(fault);

        return SmtpLoginResult.Accepted(new SmtpMailbox(credential.Username, credential.OrganizationId, environment.Id), limits.MaxMessageBytes);
    }

    public async ValueTask<SmtpReply?> CheckSenderAsync(SmtpMailbox mailbox, long? declaredSize, CancellationToken cancellationToken)
    {
        if (await killSwitch.IsOnAsync(cancellationToken)) return SmtpStandardReplies.ShuttingDown;

        // Revoked or disabled since this session's AUTH: stop here.
        var credential = await credentials.FindAsync(mailbox.Username, cancellationToken);
        if (credential is null || credential.Environment.Id != mailbox.EnvironmentId || credential.Environment.MailtestState != MailtestState.Enabled)
            return CredentialsNoLongerValid;
        if (await faults.InjectAsync(mailbox.EnvironmentId, SmtpFaultStage.Sender, cancellationToken) is { } fault)
            return fault;

        var limits = LimitsOf(credential);
        if (declaredSize > limits.MaxMessageBytes) return SmtpStandardReplies.MessageTooBig;

        var used = await usage.GetAsync(mailbox.OrganizationId, cancellationToken);
        if (used.MessageCount >= limits.MessageCap || used.Bytes + (declaredSize ?? 0) > limits.StorageCapBytes)
        {
            // At the cap: purge the oldest now, so this answer lasts seconds, not until the hourly run.
            // A message larger than the whole storage cap can never fit: purging would not help it.
            if ((declaredSize ?? 0) <= limits.StorageCapBytes)
                capPurge.Request(mailbox.OrganizationId, declaredSize ?? 0);
            return SmtpStandardReplies.InsufficientStorage;
        }
        return null;
    }

    /// <summary>The plan's limits, or during a downgrade grace the old plan's caps.</summary>
    private PlanLimits LimitsOf(CredentialSnapshot credential) =>
        plans.For(credential.Plan, credential.PreviousPlan, credential.PlanChangedUtc, clock.GetUtcNow().UtcDateTime).Applied;

    public ValueTask<SmtpReply?> CheckRecipientAsync(SmtpMailbox mailbox, string recipient, CancellationToken cancellationToken) =>
        faults.InjectAsync(mailbox.EnvironmentId, SmtpFaultStage.Recipient, cancellationToken);

    /// <summary>A failure to store throws: the engine answers it with <see cref="SmtpStandardReplies.StorageFailed"/>
    /// and logs it once per incident (a database outage is one incident, not one error per message).</summary>
    public async ValueTask<SmtpReply> DeliverAsync(SmtpTransaction transaction, CancellationToken cancellationToken)
    {
        var id = await ingest.IngestAsync(new IngestRequest(
            transaction.Mailbox.OrganizationId, transaction.Mailbox.EnvironmentId,
            transaction.EnvelopeFrom, transaction.EnvelopeTo, transaction.Message), cancellationToken);
        await StartPurgeAtCapAsync(transaction.Mailbox, cancellationToken);
        return SmtpStandardReplies.Queued(id.ToString("N"));
    }

    /// <summary>This message filled a cap: start the purge before the next MAIL FROM finds the organization full.</summary>
    /// <remarks>The message is stored: nothing here may turn its 250 into an error.</remarks>
    private async Task StartPurgeAtCapAsync(SmtpMailbox mailbox, CancellationToken cancellationToken)
    {
        try
        {
            if (await credentials.FindAsync(mailbox.Username, cancellationToken) is not { } credential) return;
            var limits = LimitsOf(credential);
            var used = await usage.GetAsync(mailbox.OrganizationId, cancellationToken);
            if (used.MessageCount >= limits.MessageCap || used.Bytes >= limits.StorageCapBytes)
                capPurge.Request(mailbox.OrganizationId);
        }
        catch (Exception error)
        {
            logger.LogWarning(error, "Could not check organization {OrganizationId} against its caps after storing a message.", mailbox.OrganizationId);
        }
    }
}
