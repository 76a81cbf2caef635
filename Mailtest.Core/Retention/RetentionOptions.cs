namespace Mailtest.Core.Retention;

/// <summary>How the retention purge runs. Bound from <c>Mailtest:Retention</c>.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Mailtest:Retention";

    /// <summary>How often every organization is purged (retention window and caps).</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// A purge for caps brings an organization down to this share of each cap, so the next message
    /// does not hit the cap at once.
    /// </summary>
    public int CapHeadroomPercent { get; set; } = 95;

    /// <summary>
    /// Messages deleted per transaction: small enough that the ingest writer never waits long for
    /// SQLite's single write lock, large enough that a purge of 100,000 messages stays quick.
    /// </summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// After each batch a deletion run rests this many times as long as the batch took, so it holds
    /// the write lock at most 1 / (1 + ratio) of the time and ingest keeps most of it (1: half).
    /// </summary>
    public double BatchPauseRatio { get; set; } = 1.0;

    /// <summary>After a downgrade that lowers a limit, the old plan's limits apply this many days.</summary>
    public int GraceDays { get; set; } = 14;
}
