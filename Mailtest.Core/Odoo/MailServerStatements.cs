using Npgsql;
using NpgsqlTypes;

namespace Mailtest.Core.Odoo;

/// <summary>
/// The SQL Mailtest runs on an Odoo <c>ir_mail_server</c> table, built for the table's real shape:
/// every value a parameter, every column name from the database itself and quoted.
/// </summary>
internal static class MailServerStatements
{
    /// <summary>Columns approach D writes; their earlier originals are kept on re-enable while a row still points at us.</summary>
    public static readonly string[] RewrittenColumns =
    [
        "smtp_host", "smtp_port", "smtp_encryption", "smtp_user", "smtp_pass", "smtp_authentication",
        "smtp_ssl_certificate", "smtp_ssl_private_key", .. MailServerTableShape.OAuthSwitches,
    ];

    /// <summary>Mailtest's own row, first in line; Odoo's own code defaults given explicitly: a raw INSERT gets no ORM defaults.</summary>
    public static async Task<long> InsertMarkerAsync(OdooSession session, MailServerTableShape shape, string markerName, CaptureTarget target, CancellationToken cancellationToken)
    {
        var values = new List<(string Column, string Sql)>
        {
            ("name", "@name"), ("smtp_host", "@host"), ("smtp_port", "@port"), ("smtp_encryption", "'starttls'"),
            ("smtp_user", "@user"), ("smtp_pass", "@pass"), ("smtp_debug", "false"), ("active", "true"),
            // Lower than every other row (NULL sequences sort last), 10 (Odoo's default) on an empty table.
            ("sequence", "(SELECT COALESCE(MIN(sequence), 11) - 1 FROM ir_mail_server)"),
        };
        if (shape.Has("smtp_authentication")) values.Add(("smtp_authentication", "'login'"));
        if (shape.Has("from_filter")) values.Add(("from_filter", "NULL"));
        foreach (var column in MailServerTableShape.OAuthSwitches.Where(shape.Has)) values.Add((column, "false"));
        foreach (var column in new[] { "create_uid", "write_uid" }.Where(shape.Has))
            values.Add((column, "(SELECT id FROM res_users WHERE id = 1)")); // Odoo's superuser, when there is one
        foreach (var column in new[] { "create_date", "write_date" }.Where(shape.Has))
            values.Add((column, "(now() AT TIME ZONE 'UTC')"));

        var sql = $"INSERT INTO ir_mail_server ({string.Join(", ", values.Select(v => v.Column))}) VALUES ({string.Join(", ", values.Select(v => v.Sql))}) RETURNING id";
        return await session.ScalarAsync<int>(sql,
            [Text("name", markerName), Text("host", target.Host), new NpgsqlParameter<int>("port", target.Port),
             Text("user", target.Username), Text("pass", target.Password)], cancellationToken);
    }

    /// <summary>Approach D: every row, active or archived, sends to us with our login.</summary>
    public static async Task RewriteAsync(OdooSession session, MailServerTableShape shape, long[] ids, CaptureTarget target, CancellationToken cancellationToken)
    {
        if (ids.Length == 0) return;
        var set = new List<string>
        {
            "smtp_host = @host", "smtp_port = @port", "smtp_encryption = 'starttls'", "smtp_user = @user", "smtp_pass = @pass",
        };
        if (shape.Has("smtp_authentication"))
            set.AddRange(["smtp_authentication = 'login'", "smtp_ssl_certificate = NULL", "smtp_ssl_private_key = NULL"]);
        set.AddRange(MailServerTableShape.OAuthSwitches.Where(shape.Has).Select(c => $"{c} = false"));
        await session.ExecuteAsync($"UPDATE ir_mail_server SET {string.Join(", ", set)} WHERE id = ANY(@ids)",
            [Text("host", target.Host), new NpgsqlParameter<int>("port", target.Port), Text("user", target.Username), Text("pass", target.Password), Ids(ids)],
            cancellationToken);
    }

    /// <summary>The new login on the rows that still carry Mailtest's (an id may have been reused after a restore); how many were updated.</summary>
    public static Task<int> WriteLoginAsync(OdooSession session, long[] ours, string previousUsername, string markerName, CaptureTarget target, CancellationToken cancellationToken) =>
        session.ExecuteAsync(
            "UPDATE ir_mail_server SET smtp_user = @user, smtp_pass = @pass WHERE id = ANY(@ids) AND (smtp_user = @previous OR name = @marker)",
            [Text("user", target.Username), Text("pass", target.Password), Ids(ours), Text("previous", previousUsername), Text("marker", markerName)],
            cancellationToken);

    public static Task DeleteAsync(OdooSession session, long id, CancellationToken cancellationToken) =>
        session.ExecuteAsync("DELETE FROM ir_mail_server WHERE id = @id", [Id(id)], cancellationToken);

    /// <summary>Approach C: every active row archived.</summary>
    public static Task ArchiveAllAsync(OdooSession session, CancellationToken cancellationToken) =>
        session.ExecuteAsync("UPDATE ir_mail_server SET active = false WHERE active", [], cancellationToken);

    public static Task ArchiveAsync(OdooSession session, long[] ids, CancellationToken cancellationToken) =>
        session.ExecuteAsync("UPDATE ir_mail_server SET active = false WHERE id = ANY(@ids)", [Ids(ids)], cancellationToken);

    /// <summary>Mailtest's archived row active again and first in line.</summary>
    public static Task ReactivateFirstAsync(OdooSession session, long id, CancellationToken cancellationToken) =>
        session.ExecuteAsync(
            "UPDATE ir_mail_server SET active = true, sequence = (SELECT COALESCE(MIN(sequence), 11) - 1 FROM ir_mail_server WHERE id <> @id) WHERE id = @id",
            [Id(id)], cancellationToken);

    /// <summary>Every column back to its snapshot value (cast from PostgreSQL's text form); a deleted row comes back with its id.</summary>
    public static async Task RestoreRowAsync(OdooSession session, MailServerTableShape shape, MailServerRows originals, MailServerRow row, bool exists, CancellationToken cancellationToken)
    {
        var columns = originals.Columns.Where(c => shape.Has(c.Name)).Select(c => shape.Column(c.Name)).ToList();
        var parameters = columns.Select((c, i) => Text($"p{i}", row[c.Name])).ToList();
        var casts = columns.Select((c, i) => $"CAST(@p{i} AS {c.Type})").ToList();
        string sql;
        if (exists)
        {
            var set = columns.Select((c, i) => (c, i)).Where(x => x.c.Name != "id").Select(x => $"{OdooSession.Quote(x.c.Name)} = {casts[x.i]}");
            sql = $"UPDATE ir_mail_server SET {string.Join(", ", set)} WHERE id = @rowid";
            parameters.Add(Id(row.Id, "rowid"));
        }
        else
        {
            sql = $"INSERT INTO ir_mail_server ({string.Join(", ", columns.Select(c => OdooSession.Quote(c.Name)))}) VALUES ({string.Join(", ", casts)})";
        }
        await session.ExecuteAsync(sql, parameters, cancellationToken);
    }

    private static NpgsqlParameter Text(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Id(long id, string name = "id") => new(name, NpgsqlDbType.Integer) { Value = checked((int)id) };

    private static NpgsqlParameter Ids(long[] ids) =>
        new("ids", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = ids.Select(i => checked((int)i)).ToArray() };
}
