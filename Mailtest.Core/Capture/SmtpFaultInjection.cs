using System.Collections.Concurrent;
using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Mailtest.Core.Capture;

/// <summary>The SMTP steps at which an environment can be told to fail (Mailpit calls them chaos triggers).</summary>
public enum SmtpFaultStage
{
    Authentication = 0,
    Sender = 1,
    Recipient = 2,
}

/// <summary>Answer <see cref="ReplyCode"/> in <see cref="Probability"/> percent of attempts; 0 is off.</summary>
public sealed record SmtpFaultTrigger(int ReplyCode, int Probability)
{
    /// <summary>Mailpit's default code: a temporary local error, which a well-behaved client retries.</summary>
    public static readonly SmtpFaultTrigger Off = new(451, 0);
    public bool IsOn => Probability > 0;
}

/// <summary>An environment's fault triggers, one per stage.</summary>
public sealed record SmtpFaults(SmtpFaultTrigger Authentication, SmtpFaultTrigger Sender, SmtpFaultTrigger Recipient)
{
    public static readonly SmtpFaults None = new(SmtpFaultTrigger.Off, SmtpFaultTrigger.Off, SmtpFaultTrigger.Off);
    public bool AnyOn => Authentication.IsOn || Sender.IsOn || Recipient.IsOn;

    public SmtpFaultTrigger For(SmtpFaultStage stage) => stage switch
    {
        SmtpFaultStage.Authentication => Authentication,
        SmtpFaultStage.Sender => Sender,
        _ => Recipient,
    };

    /// <summary>"AUTH answers 451 in 50% of attempts; RCPT TO answers 550 in 100% of attempts" — for the banner and the audit log.</summary>
    public string Describe()
    {
        (string Stage, SmtpFaultTrigger Trigger)[] stages = [("AUTH", Authentication), ("MAIL FROM", Sender), ("RCPT TO", Recipient)];
        var on = stages.Where(s => s.Trigger.IsOn).Select(s => $"{s.Stage} answers {s.Trigger.ReplyCode} in {s.Trigger.Probability}% of attempts").ToList();
        return on.Count > 0 ? string.Join("; ", on) : "off";
    }
}

/// <summary>The stored triggers of one environment; no row means no faults.</summary>
public sealed class SmtpFaultSettings
{
    public Guid EnvironmentId { get; set; }
    public int AuthenticationCode { get; set; }
    public int AuthenticationProbability { get; set; }
    public int SenderCode { get; set; }
    public int SenderProbability { get; set; }
    public int RecipientCode { get; set; }
    public int RecipientProbability { get; set; }
    public DateTime UpdatedUtc { get; set; }

    public SmtpFaults ToFaults() => new(
        new(AuthenticationCode, AuthenticationProbability), new(SenderCode, SenderProbability), new(RecipientCode, RecipientProbability));
}

internal sealed class SmtpFaultSettingsConfiguration : IEntityTypeConfiguration<SmtpFaultSettings>
{
    public void Configure(EntityTypeBuilder<SmtpFaultSettings> b)
    {
        b.HasKey(s => s.EnvironmentId);
        b.HasOne<ProjectEnvironment>().WithMany().HasForeignKey(s => s.EnvironmentId).OnDelete(DeleteBehavior.Cascade);
    }
}

/// <summary>
/// SMTP fault injection per environment, so a team can see how its application copes with a failing
/// mail server (Odoo's retry queue, for one): AUTH, MAIL FROM or RCPT TO answer a chosen 4xx/5xx code
/// with a chosen probability. Off by default; every change is audited. The SMTP backend asks
/// <see cref="InjectAsync"/> at each step; the triggers are cached for a few seconds, like credentials.
/// </summary>
public sealed class SmtpFaultInjection(IDbContextFactory<MailtestDbContext> dbFactory, AccessRules access, AuditLog audit, TimeProvider clock)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<Guid, (SmtpFaults Faults, DateTimeOffset ReadAt)> _cache = new();

    public async Task<SmtpFaults> GetAsync(Caller caller, Guid environmentId, CancellationToken cancellationToken = default)
    {
        await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestView, cancellationToken);
        return await LoadAsync(environmentId, cancellationToken);
    }

    /// <summary>Replaces the environment's triggers (a trigger with probability 0 is off). Needs <c>project.mailtest.manage</c>.</summary>
    public async Task<SmtpFaults> SetAsync(Caller caller, Guid environmentId, SmtpFaults faults, CancellationToken cancellationToken = default)
    {
        Validate(faults.Authentication, "AUTH");
        Validate(faults.Sender, "MAIL FROM");
        Validate(faults.Recipient, "RCPT TO");
        var environment = await access.RequireAsync(caller, environmentId, ProjectPermission.MailtestManage, cancellationToken);
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var row = await db.SmtpFaultSettings.SingleOrDefaultAsync(s => s.EnvironmentId == environmentId, cancellationToken);
            if (row is null) db.SmtpFaultSettings.Add(row = new SmtpFaultSettings { EnvironmentId = environmentId });
            (row.AuthenticationCode, row.AuthenticationProbability) = (faults.Authentication.ReplyCode, faults.Authentication.Probability);
            (row.SenderCode, row.SenderProbability) = (faults.Sender.ReplyCode, faults.Sender.Probability);
            (row.RecipientCode, row.RecipientProbability) = (faults.Recipient.ReplyCode, faults.Recipient.Probability);
            row.UpdatedUtc = clock.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(cancellationToken);
        }
        _cache.TryRemove(environmentId, out _);
        await audit.RecordAsync(caller, AuditActions.SmtpFaultsChange, environment.Project!.OrganizationId, environmentId,
            $"SMTP fault injection: {faults.Describe()}", cancellationToken);
        return faults;
    }

    /// <summary>The reply to answer instead of going on, or null (almost always). No permission check: the SMTP session already authenticated.</summary>
    public async ValueTask<SmtpReply?> InjectAsync(Guid environmentId, SmtpFaultStage stage, CancellationToken cancellationToken = default)
    {
        var trigger = (await CachedAsync(environmentId, cancellationToken)).For(stage);
        if (!trigger.IsOn || Random.Shared.Next(100) >= trigger.Probability) return null;
        var enhanced = $"{trigger.ReplyCode / 100}.0.0";
        return new SmtpReply(trigger.ReplyCode, enhanced, $"Fault injected by this environment's SMTP fault settings ({Name(stage)})");
    }

    private async ValueTask<SmtpFaults> CachedAsync(Guid environmentId, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(environmentId, out var entry) && clock.GetUtcNow() - entry.ReadAt < CacheFor) return entry.Faults;
        var faults = await LoadAsync(environmentId, cancellationToken);
        _cache[environmentId] = (faults, clock.GetUtcNow());
        return faults;
    }

    private async Task<SmtpFaults> LoadAsync(Guid environmentId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await db.SmtpFaultSettings.AsNoTracking().SingleOrDefaultAsync(s => s.EnvironmentId == environmentId, cancellationToken);
        return row?.ToFaults() ?? SmtpFaults.None;
    }

    private static void Validate(SmtpFaultTrigger trigger, string stage)
    {
        if (trigger.ReplyCode is < 400 or > 599)
            throw new TenancyException($"The {stage} reply code must be a 4xx or 5xx SMTP code (400 to 599), not {trigger.ReplyCode}.");
        if (trigger.Probability is < 0 or > 100)
            throw new TenancyException($"The {stage} probability is a percentage from 0 (off) to 100, not {trigger.Probability}.");
    }

    private static string Name(SmtpFaultStage stage) => stage switch
    {
        SmtpFaultStage.Authentication => "AUTH",
        SmtpFaultStage.Sender => "MAIL FROM",
        _ => "RCPT TO",
    };
}
