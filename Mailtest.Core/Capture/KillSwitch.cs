using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Capture;

/// <summary>
/// The platform administrators' kill switch: while on, every SMTP connection is answered
/// <c>421 4.3.2 Service shutting down</c> and every dashboard page shows a banner. Kept in the
/// database (so every node agrees) and cached here for a few seconds (so SMTP stays cheap).
/// When the database cannot be read, the last known state is served (off if never read), so an
/// outage does not stop SMTP greetings; it is logged once at Warning and retried every few seconds.
/// </summary>
public sealed class KillSwitch(IDbContextFactory<MailtestDbContext> dbFactory, TimeProvider clock, ILogger<KillSwitch> logger)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);

    /// <summary>One immutable snapshot, swapped as a whole: readers never see a state from one read and a time from another.</summary>
    private sealed record Snapshot(bool IsOn, DateTimeOffset ReadAt);

    private volatile Snapshot? _cached;
    private int _outage;

    public event Action<bool>? Changed;

    public async ValueTask<bool> IsOnAsync(CancellationToken cancellationToken = default)
    {
        var cached = _cached;
        if (cached is not null && clock.GetUtcNow() - cached.ReadAt < CacheFor) return cached.IsOn;
        bool isOn;
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var setting = await db.PlatformSettings.AsNoTracking().SingleOrDefaultAsync(s => s.Key == PlatformSetting.KillSwitchKey, cancellationToken);
            isOn = setting?.Value == "on";
        }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested)
        {
            isOn = cached?.IsOn ?? false;
            if (Interlocked.Exchange(ref _outage, 1) == 0)
                logger.LogWarning(error, "The kill switch could not be read from the database; serving its last known state ({State}) until it can", isOn ? "on" : "off");
            _cached = new Snapshot(isOn, clock.GetUtcNow()); // retried after CacheFor, not on every connection
            return isOn;
        }
        if (Interlocked.Exchange(ref _outage, 0) == 1)
            logger.LogInformation("The kill switch is readable from the database again");
        _cached = new Snapshot(isOn, clock.GetUtcNow());
        return isOn;
    }

    public async Task SetAsync(bool on, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var setting = await db.PlatformSettings.SingleOrDefaultAsync(s => s.Key == PlatformSetting.KillSwitchKey, cancellationToken);
        if (setting is null) db.PlatformSettings.Add(setting = new PlatformSetting { Key = PlatformSetting.KillSwitchKey, Value = "" });
        setting.Value = on ? "on" : "off";
        await db.SaveChangesAsync(cancellationToken);
        _cached = new Snapshot(on, clock.GetUtcNow());
        Changed?.Invoke(on);
    }
}

/// <summary>A platform-wide setting set by administrators.</summary>
public sealed class PlatformSetting
{
    public const string KillSwitchKey = "kill-switch";

    public required string Key { get; set; }
    public required string Value { get; set; }
}

internal sealed class PlatformSettingConfiguration : IEntityTypeConfiguration<PlatformSetting>
{
    public void Configure(EntityTypeBuilder<PlatformSetting> b)
    {
        b.HasKey(s => s.Key);
        b.Property(s => s.Key).HasMaxLength(100);
    }
}
