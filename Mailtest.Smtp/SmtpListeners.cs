using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mailtest.Smtp;

/// <summary>
/// The SMTP endpoints as Kestrel bound them (with port 0 in configuration, the real port appears once
/// the host has started). For tests and for the dashboard's "connect here" details.
/// </summary>
public sealed class SmtpListeners
{
    internal ListenOptions? StartTlsListen { get; set; }
    internal ListenOptions? ImplicitTlsListen { get; set; }

    /// <summary>The STARTTLS submission endpoint (<see cref="SmtpOptions.Port"/>).</summary>
    public IPEndPoint? StartTls => StartTlsListen?.IPEndPoint;

    /// <summary>The implicit-TLS endpoint (<see cref="SmtpOptions.ImplicitTlsPort"/>), null when off.</summary>
    public IPEndPoint? ImplicitTls => ImplicitTlsListen?.IPEndPoint;
}
