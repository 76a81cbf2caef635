using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Mailtest.Core.Capture;

/// <summary>
/// The platform administrators' kill switch: while on, every SMTP connection is answered
/// <c>421 4.3.2 Service shutting down</c> and every dashboard page shows a banner. Kept in the
/// database (so every node agrees) and cached here for a few seconds (so SMTP stays cheap).
/// </summary>
public sealed class KillSwitch(IDbContextFactory<MailtestDbContext> dbFactory, TimeProvider clock)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);
    private (bool IsOn, DateTimeOffset ReadAt)? _cached;

    public event Action<bool>? Changed;

    public async ValueTask<bool> IsOnAsync(CancellationToken cancellationToken = default)
    {
        var cached = _cached;
        if (cached is { } c && clock.GetUtcNow() - c.ReadAt < CacheFor) return c.IsOn;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var setting = await db.PlatformSettings.AsNoTracking().SingleOrDefaultAsync(s => s.Key == PlatformSetting.KillSwitchKey, cancellationToken);
        var isOn = setting?.Value == "on";
        _cached = (isOn, clock.GetUtcNow());
        return isOn;
    }

    public async Task SetAsync(bool on, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var setting = await db.PlatformSettings.SingleOrDefaultAsync(s => s.Key == PlatformSetting.KillSwitchKey, cancellationToken);
        if (setting is null) db.PlatformSettings.Add(setting = new PlatformSetting { Key = PlatformSetting.KillSwitchKey, Value = "" });
        setting.Value = on ? "on" : "off";
        await db.SaveChangesAsync(cancellationToken);
        _cached = (on, clock.GetUtcNow());
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
