namespace Mailtest.Core.Exports;

/// <summary>Bound from <c>Mailtest:Exports</c>.</summary>
public sealed class ExportOptions
{
    public const string Section = "Mailtest:Exports";

    /// <summary>How long the signed download link works; then the file is deleted.</summary>
    public TimeSpan LinkLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// The dashboard's address as people reach it (e.g. <c>https://mailtest.example.com/</c>), for the
    /// link in the "export ready" email. Without it the email gives the path only.
    /// </summary>
    public string? PublicUrl { get; set; }
}
