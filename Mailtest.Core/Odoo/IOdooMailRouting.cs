using System.Net;
using Mailtest.Core.Tenancy;

namespace Mailtest.Core.Odoo;

/// <summary>
/// Reroutes an environment's Odoo <c>ir_mail_server</c> to this Mailtest install and puts it back.
/// The lifecycle calls it only for environments with an Odoo connection. Every method runs in one
/// transaction on the Odoo database: on failure Odoo is left as it was and an
/// <see cref="OdooRoutingException"/> says why in words a user can act on.
/// </summary>
public interface IOdooMailRouting
{
    /// <summary>Connects, checks the real version and table shape, and lists what the consent modal must mention.</summary>
    Task<OdooInspection> InspectAsync(ProjectEnvironment environment, CancellationToken cancellationToken);

    /// <summary>Approach C or D (<see cref="OdooRoutingApproaches.For"/>): snapshot into Mailtest's database, then reroute.</summary>
    Task EnableAsync(ProjectEnvironment environment, OdooSmtpLogin login, CancellationToken cancellationToken);

    /// <summary>Writes the new password in place on the row(s) Mailtest owns.</summary>
    Task RotateAsync(ProjectEnvironment environment, OdooSmtpLogin login, CancellationToken cancellationToken);

    /// <summary>Restores the snapshot exactly and removes Mailtest's marker row.</summary>
    Task DisableAsync(ProjectEnvironment environment, CancellationToken cancellationToken);

    /// <summary>Compares the real rows with what Mailtest set; a neutralize is repaired (and reported as such).</summary>
    Task<OdooTamperCheck> CheckAsync(ProjectEnvironment environment, CancellationToken cancellationToken);
}

/// <summary>The SMTP login written into Odoo (host and port come from the install's public SMTP settings).</summary>
public sealed record OdooSmtpLogin(string Username, string Password);

public sealed record OdooInspection(
    int Version,
    OdooRoutingApproach Approach,
    int ServerCount,
    int ActiveServerCount,
    IReadOnlyList<string> TemplatesWithExplicitServer);

public enum OdooTamperStatus
{
    Intact = 0,
    /// <summary>A neutralize was found and the marker re-injected.</summary>
    RepairedAfterNeutralize = 1,
    Tampered = 2,
    /// <summary>The Odoo database could not be reached; nothing is concluded.</summary>
    Unreachable = 3,
}

public sealed record OdooTamperCheck(OdooTamperStatus Status, string? Reason);

/// <summary>
/// Odoo could not be reached or changed (HTTP 502: the upstream failed, nothing is wrong with the request).
/// The message never contains connection strings or passwords.
/// </summary>
public sealed class OdooRoutingException(string message, Exception? inner = null) : RefusalException(HttpStatusCode.BadGateway, message, ProblemTitle, inner)
{
    public const string ProblemTitle = "Odoo could not be updated";
}
