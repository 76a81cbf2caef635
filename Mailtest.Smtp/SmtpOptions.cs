namespace Mailtest.Smtp;

/// <summary>The SMTP endpoint(s). Bound from <c>Mailtest:Smtp</c>.</summary>
public sealed class SmtpOptions
{
    public const string Section = "Mailtest:Smtp";

    /// <summary>Address the listener binds to (<c>0.0.0.0</c> for every interface).</summary>
    public string Address { get; set; } = "0.0.0.0";
    /// <summary>The STARTTLS submission port.</summary>
    public int Port { get; set; } = 2525;
    /// <summary>Optional implicit-TLS port (SMTPS, like 465); off when null.</summary>
    public int? ImplicitTlsPort { get; set; }

    /// <summary>The host name clients connect to: the self-signed certificate is made for it. What people are
    /// told to use (host and port) is a product setting, Core's <c>PublicSmtpOptions</c>, read from the same keys.</summary>
    public string PublicHost { get; set; } = "localhost";

    /// <summary>Name announced in the greeting and EHLO reply.</summary>
    public string ServerName { get; set; } = "mailtest";

    /// <summary>PEM or PFX certificate; when empty a self-signed one is generated once into the data directory.</summary>
    public string? CertificatePath { get; set; }
    /// <summary>PEM private key file, when <see cref="CertificatePath"/> is a PEM certificate without its key.</summary>
    public string? CertificateKeyPath { get; set; }
    public string? CertificatePassword { get; set; }

    /// <summary>Offer AUTH on a plaintext connection (local development only).</summary>
    public bool AllowAuthWithoutTls { get; set; }

    /// <summary>Time for a whole command line to arrive: bytes trickling in do not extend it.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>Silence allowed between two reads of DATA (a large message may take long as a whole).</summary>
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromMinutes(10);
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromMinutes(30);
    public TimeSpan TlsHandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public int MaxConnectionsPerIp { get; set; } = 50;
    /// <summary>Open SMTP connections across all addresses; one more is answered <c>421</c> and closed.</summary>
    public int MaxConnections { get; set; } = 500;
    public int MaxRecipients { get; set; } = 1000;
    /// <summary>Command lines longer than this are refused (RFC 5321 allows 512). DATA lines have no limit of
    /// their own: Mailtest captures what applications send, and the message size limit bounds them.</summary>
    public int MaxLineLength { get; set; } = 4096;
    /// <summary>Size announced in EHLO before AUTH (the largest plan's limit); after AUTH the sender's own limit applies.</summary>
    public long MaxMessageBytes { get; set; } = 50L * 1024 * 1024;

    public int AuthFailuresBeforeBan { get; set; } = 10;
    public TimeSpan AuthFailureWindow { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan BanDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Where DATA is spooled while it arrives, for messages not held in memory; defaults to <c>{data}/spool</c>.</summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>Memory all sessions together may hold for messages while they arrive and are stored (each up to
    /// <see cref="SpooledMessage.InMemoryLimitBytes"/>); past it, and for larger messages, DATA goes to a spool file.
    /// 0 spools every message to a file.</summary>
    public long SpoolMemoryBytes { get; set; } = 32L * 1024 * 1024;

    internal const string ValidationMessage =
        "Mailtest:Smtp is invalid: Address must be an IP address, ports 0-65535, MaxLineLength at least 512 (RFC 5321), " +
        "positive limits and timeouts.";

    internal static bool IsValid(SmtpOptions o) =>
        System.Net.IPAddress.TryParse(o.Address, out _)
        && o.Port is >= 0 and <= 65535
        && o.ImplicitTlsPort is null or (>= 0 and <= 65535)
        && o.MaxLineLength >= 512
        && o.MaxMessageBytes > 0 && o.SpoolMemoryBytes >= 0 && o.MaxRecipients > 0 && o.MaxConnectionsPerIp > 0 && o.MaxConnections > 0 && o.AuthFailuresBeforeBan > 0
        && o.CommandTimeout > TimeSpan.Zero && o.DataTimeout > TimeSpan.Zero && o.SessionTimeout > TimeSpan.Zero
        && o.TlsHandshakeTimeout > TimeSpan.Zero && o.AuthFailureWindow > TimeSpan.Zero && o.BanDuration >= TimeSpan.Zero;
}
