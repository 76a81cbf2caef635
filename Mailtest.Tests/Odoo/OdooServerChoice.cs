namespace Mailtest.Tests.Odoo;

/// <summary>Where Odoo would connect to send one mail, or the error it would show.</summary>
public sealed record OdooConnectionChoice(string Host, int Port, string Encryption, string? User, string? Password, string? ServerName, string? Error)
{
    public static OdooConnectionChoice Failed(string error) => new("", 0, "", null, null, null, error);
    public static OdooConnectionChoice Of(OdooServerRow row) =>
        new(row.Host ?? "localhost", row.Port ?? 25, row.Encryption, row.User, row.Password, row.Name, null);
    /// <summary>No usable row: odoo.conf's smtp_server (default localhost:25), i.e. not Mailtest.</summary>
    public static readonly OdooConnectionChoice OdooConf = new("localhost", 25, "none", null, null, null, null);
}

/// <summary>
/// Odoo's own rule for choosing the outgoing server, per version (ir_mail_server.py): the test asks
/// "would Odoo send to Mailtest?" the way Odoo itself decides, not the way Mailtest hopes.
/// </summary>
public static class OdooServerChoice
{
    public static OdooConnectionChoice Choose(int version, IReadOnlyList<OdooServerRow> rows, string emailFrom, int? explicitServerId = null)
    {
        if (explicitServerId is int id)
        {
            // A server forced by a template / mailing / queued mail is used even if archived on 13–15;
            // 16+ refuses it (19 in _check_forced_mail_server).
            var forced = rows.Single(r => r.Id == id);
            if (version >= 16 && !forced.Active)
                return OdooConnectionChoice.Failed($"The server \"{forced.Name}\" cannot be used because it is archived.");
            return OdooConnectionChoice.Of(forced);
        }

        // search([], order='sequence'): active rows only; PostgreSQL sorts NULL sequences last.
        // 19's personal servers (owner_user_id) serve only their owner's own mail.
        var servers = rows.Where(r => r.Active && r.OwnerUserId is null)
            .OrderBy(r => r.Sequence is null).ThenBy(r => r.Sequence).ThenBy(r => r.Id).ToList();
        if (version <= 14)
            return servers.Count > 0 ? OdooConnectionChoice.Of(servers[0]) : OdooConnectionChoice.OdooConf;

        // 15+: _find_mail_server — exact address, then domain, then a server without from_filter, then any.
        var email = emailFrom.Trim().ToLowerInvariant();
        var domain = email[(email.IndexOf('@') + 1)..];
        IEnumerable<string> Filters(OdooServerRow row) => string.IsNullOrWhiteSpace(row.FromFilter)
            ? []
            : version >= 17
                ? row.FromFilter.Split(',').Select(f => f.Trim().ToLowerInvariant()).Where(f => f.Length > 0)
                : [row.FromFilter.Trim().ToLowerInvariant()];
        var chosen = servers.FirstOrDefault(r => Filters(r).Contains(email))
                     ?? servers.FirstOrDefault(r => Filters(r).Contains(domain))
                     ?? servers.FirstOrDefault(r => !Filters(r).Any())
                     ?? servers.FirstOrDefault();
        return chosen is null ? OdooConnectionChoice.OdooConf : OdooConnectionChoice.Of(chosen);
    }
}
