using Mailtest.Core.Audit;

namespace Mailtest.Core.Tenancy;

/// <summary>Writes a caller into the audit log (Tenancy knows callers; the log knows only names and ids).</summary>
public static class CallerAudit
{
    /// <summary>An environment token or the operator is not a user: the entry names them, with no user id.</summary>
    public static Task RecordAsync(this AuditLog audit, Caller caller, string action, Guid? organizationId = null, Guid? environmentId = null,
        string? detail = null, CancellationToken cancellationToken = default) =>
        audit.RecordAsync(caller.AuditedUserId, caller.Email, action, organizationId, environmentId, detail, caller.RemoteAddress, cancellationToken);
}
