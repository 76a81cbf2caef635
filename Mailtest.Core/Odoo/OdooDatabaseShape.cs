using System.Text.RegularExpressions;

namespace Mailtest.Core.Odoo;

/// <summary>One column of <c>ir_mail_server</c> as the database really has it.</summary>
internal sealed record MailServerColumn(string Name, string Type, bool IsNullable, bool HasDefault);

/// <summary>The Odoo version a database reports in <c>ir_module_module</c> ('17.0.1.3', 'saas~17.1.1.0').</summary>
internal sealed partial record OdooVersion(string Reported, int Major)
{
    public const int Oldest = OdooConnectionSettings.OldestVersion;
    public const int Newest = OdooConnectionSettings.NewestVersion;

    public OdooRoutingApproach Approach => OdooRoutingApproaches.For(Major);

    /// <exception cref="OdooRoutingException">Not a version Mailtest can tell, or outside 13–19.</exception>
    public static OdooVersion Parse(string? reported)
    {
        if (string.IsNullOrWhiteSpace(reported))
            throw new OdooRoutingException("The Odoo database does not report a version for its base module; is this an Odoo database that finished installing?");
        var match = VersionPattern().Match(reported.Trim());
        if (!match.Success)
            throw new OdooRoutingException($"The Odoo database reports version {Shorten(reported)}, which Mailtest cannot read; Mailtest supports Odoo {Oldest} to {Newest}.");
        var major = int.Parse(match.Groups["major"].Value, System.Globalization.CultureInfo.InvariantCulture);
        if (major is < Oldest or > Newest)
            throw new OdooRoutingException($"The Odoo database reports version {Shorten(reported)}; Mailtest supports Odoo {Oldest} to {Newest}.");
        return new OdooVersion(reported.Trim(), major);
    }

    private static string Shorten(string text) => text.Length > 40 ? text[..40] + "…" : text;

    [GeneratedRegex(@"^(?:saas~)?(?<major>\d{1,3})\.\d+")]
    private static partial Regex VersionPattern();
}

/// <summary>The real column set of <c>ir_mail_server</c>, checked against what Mailtest knows per Odoo version.</summary>
internal sealed class MailServerTableShape
{
    private static readonly string[] BaseColumns =
        ["id", "name", "smtp_host", "smtp_port", "smtp_user", "smtp_pass", "smtp_encryption", "smtp_debug", "sequence", "active"];
    private static readonly string[] Since15 = ["from_filter", "smtp_authentication", "smtp_ssl_certificate", "smtp_ssl_private_key"];

    /// <summary>Columns some versions or modules add; Mailtest leaves them as they are (or NULL on its own row).</summary>
    private static readonly HashSet<string> KnownOptional =
    [
        "create_uid", "create_date", "write_uid", "write_date", "smtp_debug",
        "max_email_size", "owner_user_id", "owner_limit_time", "owner_limit_count",
        "google_gmail_authorization_code", "google_gmail_refresh_token", "google_gmail_access_token",
        "google_gmail_access_token_expiration", "use_google_gmail_service",
        "microsoft_outlook_refresh_token", "microsoft_outlook_access_token",
        "microsoft_outlook_access_token_expiration", "use_microsoft_outlook_service",
    ];

    /// <summary>Boolean switches (≤15) that make Odoo use OAuth instead of the SMTP login.</summary>
    public static readonly string[] OAuthSwitches = ["use_google_gmail_service", "use_microsoft_outlook_service"];

    public MailServerTableShape(IReadOnlyList<MailServerColumn> columns) => Columns = columns;

    public IReadOnlyList<MailServerColumn> Columns { get; }

    public bool Has(string column) => Columns.Any(c => c.Name == column);

    public MailServerColumn Column(string name) => Columns.First(c => c.Name == name);

    /// <exception cref="OdooRoutingException">A shape this version of Odoo does not have, or one a raw INSERT would break.</exception>
    public void EnsureRecognised(OdooVersion version)
    {
        if (Columns.Count == 0)
            throw new OdooRoutingException("The Odoo database has no ir_mail_server table that Mailtest's database user can see; check that the connection points at an Odoo database and that the user may read ir_mail_server.");

        var required = version.Major >= 15 ? BaseColumns.Concat(Since15) : BaseColumns;
        var missing = required.Where(c => !Has(c)).ToList();
        if (missing.Count > 0)
            throw new OdooRoutingException(
                $"The ir_mail_server table of this Odoo {version.Major} database lacks the column(s) {string.Join(", ", missing)}, so it does not have the shape Mailtest knows; check the environment's Odoo version.");
        if (version.Major < 15 && Has("smtp_authentication"))
            throw new OdooRoutingException(
                $"The Odoo database reports version {version.Reported} but its ir_mail_server table has the Odoo 15+ column smtp_authentication; check the environment's Odoo version.");

        var known = new HashSet<string>(BaseColumns.Concat(Since15).Concat(KnownOptional));
        var blocking = Columns.Where(c => !known.Contains(c.Name) && !c.IsNullable && !c.HasDefault).Select(c => c.Name).ToList();
        if (blocking.Count > 0)
            throw new OdooRoutingException(
                $"The ir_mail_server table has required column(s) {string.Join(", ", blocking)} that Mailtest does not know (added by a custom module?); Mailtest cannot add its mail server row safely.");
    }
}
