using Mailtest.Smtp.Protection;
using Mailtest.Smtp.Spool;
using Mailtest.Smtp.Tls;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Smtp.Session;

/// <summary>The singletons every session shares.</summary>
internal sealed class SmtpSessionServices(
    IOptions<SmtpOptions> options,
    TimeProvider time,
    AuthFailureBan ban,
    ConnectionLimits connections,
    SmtpCertificateSource certificates,
    MessageSpool spool,
    ILogger<SmtpSession> logger)
{
    public SmtpOptions Options => options.Value;
    public TimeProvider Time { get; } = time;
    public AuthFailureBan Ban { get; } = ban;
    public ConnectionLimits Connections { get; } = connections;
    public SmtpCertificateSource Certificates { get; } = certificates;
    public MessageSpool Spool { get; } = spool;
    public ILogger<SmtpSession> Logger { get; } = logger;

    /// <summary>Writing the spool (disk full, disk errors).</summary>
    public FailureIncident SpoolIncident { get; } = new(logger, "SMTP: Spooling messages");

    /// <summary>The product's answers (a database outage shows here).</summary>
    public FailureIncident BackendIncident { get; } = new(logger, "SMTP: The capture backend");
}
