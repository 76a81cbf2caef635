using System.Globalization;

namespace Mailtest.Core.Odoo;

/// <summary>Where Odoo must send mail: the install's public SMTP endpoint and the environment's login.</summary>
internal sealed record CaptureTarget(string Host, int Port, string Username, string Password)
{
    public string PortText => Port.ToString(CultureInfo.InvariantCulture);
    /// <summary>Never the password.</summary>
    public override string ToString() => $"{Username}@{Host}:{Port}";
}

internal enum RoutingState { Intact, Neutralized, Tampered }

internal sealed record RoutingVerdict(RoutingState State, string? Reason)
{
    public static readonly RoutingVerdict Intact = new(RoutingState.Intact, null);
    public static readonly RoutingVerdict Neutralized = new(RoutingState.Neutralized, null);
    public static RoutingVerdict Tampered(string reason) => new(RoutingState.Tampered, reason);
}

/// <summary>
/// Compares the real <c>ir_mail_server</c> rows with the state Mailtest left: the marker present,
/// active and pointing at us; with C no other row active; with D every row pointing at us.
/// </summary>
internal static class OdooTamperInspector
{
    public const string NeutralizeDummyName = "neutralization - disable emails";

    public static RoutingVerdict Evaluate(
        OdooRoutingApproach approach, long? markerId, CaptureTarget target, MailServerRows originals, MailServerRows current)
    {
        var marker = markerId is long id ? current.Find(id) : null;
        var others = current.Rows.Where(r => r != marker).ToList();

        if (approach == OdooRoutingApproach.C && IsNeutralized(others, marker, target))
            return RoutingVerdict.Neutralized;
        if (MatchesOriginals(originals, others) && (markerId is null ? others.Any(r => Differences(r, target, isMarker: false).Count > 0) : marker is null))
            return RoutingVerdict.Tampered("Odoo's mail servers are back to how they were before Mailtest was enabled (a restored backup?).");
        if (markerId is not null && marker is null)
            return RoutingVerdict.Tampered($"Mailtest's mail server row (id {markerId}) was deleted from Odoo.");
        if (marker is not null)
        {
            var changed = Differences(marker, target, isMarker: true);
            if (changed.Count > 0)
                return RoutingVerdict.Tampered($"Mailtest's mail server row was changed in Odoo ({string.Join(", ", changed)} no longer as Mailtest set it).");
            if (!marker.Active)
                return RoutingVerdict.Tampered("Mailtest's mail server row was archived in Odoo.");
        }

        if (approach == OdooRoutingApproach.C)
        {
            if (others.FirstOrDefault(r => r.Active) is { } reactivated)
                return RoutingVerdict.Tampered($"The mail server '{reactivated.Name}' was re-activated in Odoo, so Odoo may send through it instead of Mailtest.");
            return RoutingVerdict.Intact;
        }

        foreach (var row in others)
        {
            var changed = Differences(row, target, isMarker: false);
            if (changed.Count > 0)
                return RoutingVerdict.Tampered($"The mail server '{row.Name}' no longer points at Mailtest ({string.Join(", ", changed)} changed in Odoo).");
        }
        if (!current.Rows.Any(r => r.Active))
            return RoutingVerdict.Tampered("Every mail server in Odoo is archived, so Odoo sends through the server in its configuration file instead of Mailtest.");
        return RoutingVerdict.Intact;
    }

    /// <summary>The columns of a row that no longer route to us (names only: never values, they hold passwords).</summary>
    public static IReadOnlyList<string> Differences(MailServerRow row, CaptureTarget target, bool isMarker)
    {
        var changed = new List<string>();
        if (row["smtp_host"] != target.Host) changed.Add("smtp_host");
        if (row["smtp_port"] != target.PortText) changed.Add("smtp_port");
        if (row["smtp_encryption"] != "starttls") changed.Add("smtp_encryption");
        if (row["smtp_user"] != target.Username) changed.Add("smtp_user");
        if (row["smtp_pass"] != target.Password) changed.Add("smtp_pass");
        if (row.Values.ContainsKey("smtp_authentication") && row["smtp_authentication"] != "login") changed.Add("smtp_authentication");
        if (isMarker && !string.IsNullOrEmpty(row["from_filter"])) changed.Add("from_filter");
        return changed;
    }

    /// <summary><c>odoo-bin neutralize</c>: every row archived (ours too, or ours gone with a refreshed copy)
    /// and only its dummy row active.</summary>
    private static bool IsNeutralized(List<MailServerRow> others, MailServerRow? marker, CaptureTarget target)
    {
        var active = others.Where(r => r.Active).ToList();
        if (active.Count == 0 || !active.All(IsNeutralizeDummy)) return false;
        return marker is null || (!marker.Active && Differences(marker, target, isMarker: true).Count == 0);
    }

    public static bool IsNeutralizeDummy(MailServerRow row) => row.Name == NeutralizeDummyName && row["smtp_host"] == "invalid";

    private static bool MatchesOriginals(MailServerRows originals, List<MailServerRow> rows) =>
        rows.Count == originals.Rows.Count
        && originals.Rows.All(o => rows.FirstOrDefault(r => r.Id == o.Id) is { } row
                                   && row.SameValuesAs(o, originals.Columns.Where(c => row.Values.ContainsKey(c.Name))));
}
