namespace Mailtest.Core.Notifications;

/// <summary>
/// The outbound SMTP relay Mailtest sends its own email through (export ready, later other notices).
/// Bound from <c>Mailtest:Notifications</c>. Without <see cref="Host"/> no email is sent and links are
/// only shown on the page.
/// </summary>
public sealed class NotificationOptions
{
    public const string Section = "Mailtest:Notifications";

    public string? Host { get; set; }
    public int Port { get; set; } = 587;
    /// <summary><c>StartTls</c> (default), <c>SslOnConnect</c> (implicit TLS, usually port 465), <c>Auto</c> or <c>None</c>.</summary>
    public string Tls { get; set; } = "StartTls";
    /// <summary>Accept a relay certificate that does not validate (a self-signed test relay only).</summary>
    public bool AcceptAnyCertificate { get; set; }
    public string? User { get; set; }
    public string? Password { get; set; }
    public string From { get; set; } = "Mailtest <mailtest@localhost>";
    /// <summary>Waits between attempts when the relay fails; after the last one the mail is given up (and logged).</summary>
    public TimeSpan[] RetryDelays { get; set; } = [TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30)];

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Host);
}
