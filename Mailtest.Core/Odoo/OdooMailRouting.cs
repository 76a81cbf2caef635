using System.Text;
using Mailtest.Core.Data;
using Mailtest.Core.Security;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Mailtest.Core.Odoo;

/// <summary>
/// Reroutes an Odoo database's <c>ir_mail_server</c> to this install (approach C on 16+, D on 13–15),
/// rotates the password, restores the original rows exactly, and checks for tampering.
/// Ordering for safety: the Odoo change is made inside its transaction, then the snapshot is saved in
/// Mailtest's database, then the Odoo transaction commits; if that commit fails the snapshot change is undone.
/// </summary>
public sealed class OdooMailRouting(
    OdooConnectionSecret connections,
    IDbContextFactory<MailtestDbContext> databases,
    SecretBox box,
    IOptions<OdooOptions> options,
    IOptions<PublicSmtpOptions> smtp) : IOdooMailRouting
{
    private OdooOptions Options => options.Value;

    public async Task<OdooInspection> InspectAsync(ProjectEnvironment environment, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var snapshot = await FindSnapshotAsync(db, environment, cancellationToken);
        await using var session = await OpenAsync(environment, cancellationToken);
        var (version, shape) = await RecogniseAsync(session, environment, cancellationToken);
        var rows = await session.ReadRowsAsync(shape, cancellationToken);
        var templates = version.Approach == OdooRoutingApproach.C
            ? await session.ReadTemplatesWithExplicitServerAsync(snapshot?.MarkerRowId, cancellationToken)
            : [];
        return new OdooInspection(version.Major, version.Approach, rows.Rows.Count, rows.Rows.Count(r => r.Active), templates);
    }

    public async Task EnableAsync(ProjectEnvironment environment, OdooSmtpLogin login, CancellationToken cancellationToken)
    {
        var target = Target(login);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var previous = await FindSnapshotAsync(db, environment, cancellationToken);
        var previousValues = previous is null ? null : db.Entry(previous).CurrentValues.Clone();

        await using var session = await OpenAsync(environment, cancellationToken);
        var (version, shape) = await RecogniseAsync(session, environment, cancellationToken);
        await session.LockMailServersAsync(cancellationToken);
        var current = await session.ReadRowsAsync(shape, cancellationToken);

        // Re-enable: our old marker goes, and values Mailtest wrote earlier are not taken for originals.
        var oldMarker = previous is null ? null : OurMarker(current, previous);
        var originals = previous is null ? WithoutRow(current, null) : KeepEarlierOriginals(current, previous, oldMarker, OpenRows(environment, previous));
        if (oldMarker is long oldMarkerId)
            await session.ExecuteAsync("DELETE FROM ir_mail_server WHERE id = @id", [Id(oldMarkerId)], cancellationToken);

        long? markerId;
        if (version.Approach == OdooRoutingApproach.C)
        {
            await session.ExecuteAsync("UPDATE ir_mail_server SET active = false WHERE active", [], cancellationToken);
            markerId = await InsertMarkerAsync(session, shape, target, cancellationToken);
        }
        else
        {
            await RewriteAsync(session, shape, originals.Rows.Select(r => r.Id).ToArray(), target, cancellationToken);
            markerId = originals.Rows.Any(r => r.Active) ? null : await InsertMarkerAsync(session, shape, target, cancellationToken);
        }

        var snapshot = previous ?? db.OdooRoutingSnapshots.Add(new OdooRoutingSnapshot
        {
            EnvironmentId = environment.Id, SealedRows = [], SmtpUsername = "", SealedSmtpPassword = [],
        }).Entity;
        snapshot.Approach = version.Approach;
        snapshot.OdooVersion = version.Major;
        snapshot.MarkerRowId = markerId;
        snapshot.SealedRows = SealRows(environment, originals);
        SetLogin(environment, snapshot, login);
        await CommitBothAsync(db, session, undo: async () =>
        {
            if (previousValues is null) db.OdooRoutingSnapshots.Remove(snapshot);
            else db.Entry(snapshot).CurrentValues.SetValues(previousValues);
            await db.SaveChangesAsync(CancellationToken.None);
        }, cancellationToken);
    }

    public async Task RotateAsync(ProjectEnvironment environment, OdooSmtpLogin login, CancellationToken cancellationToken)
    {
        var target = Target(login);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var snapshot = await FindSnapshotAsync(db, environment, cancellationToken)
            ?? throw new OdooRoutingException("Mailtest has not rerouted this Odoo database yet; enable Mailtest first.");
        var previousValues = db.Entry(snapshot).CurrentValues.Clone();

        await using var session = await OpenAsync(environment, cancellationToken);
        await session.LockMailServersAsync(cancellationToken);
        var ours = snapshot.Approach == OdooRoutingApproach.C
            ? [snapshot.MarkerRowId!.Value]
            : OpenRows(environment, snapshot).Rows.Select(r => r.Id).Concat(snapshot.MarkerRowId is long m ? [m] : []).ToArray();
        // Only rows that still carry Mailtest's login: an id may have been reused after a restore.
        var updated = await session.ExecuteAsync(
            "UPDATE ir_mail_server SET smtp_user = @user, smtp_pass = @pass WHERE id = ANY(@ids) AND (smtp_user = @previous OR name = @marker)",
            [Text("user", target.Username), Text("pass", target.Password), Ids(ours), Text("previous", snapshot.SmtpUsername), Text("marker", Options.MarkerName)],
            cancellationToken);
        if (updated == 0)
            throw new OdooRoutingException("Mailtest's mail server rows are missing from Odoo, so the new password could not be written; re-enable Mailtest to put them back.");

        SetLogin(environment, snapshot, login);
        await CommitBothAsync(db, session, undo: async () =>
        {
            db.Entry(snapshot).CurrentValues.SetValues(previousValues);
            await db.SaveChangesAsync(CancellationToken.None);
        }, cancellationToken);
    }

    public async Task DisableAsync(ProjectEnvironment environment, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var snapshot = await FindSnapshotAsync(db, environment, cancellationToken);
        if (snapshot is null) return; // Nothing of ours in Odoo: disabling twice is not an error.
        var originals = OpenRows(environment, snapshot);

        await using var session = await OpenAsync(environment, cancellationToken);
        var shape = await session.ReadShapeAsync(cancellationToken);
        if (shape.Columns.Count == 0)
            throw new OdooRoutingException("The Odoo database no longer has an ir_mail_server table that Mailtest can see, so its mail servers cannot be restored; check the environment's Odoo connection.");
        await session.LockMailServersAsync(cancellationToken);
        var current = await session.ReadRowsAsync(shape, cancellationToken);
        var marker = OurMarker(current, snapshot);
        if (marker is long markerId)
            await session.ExecuteAsync("DELETE FROM ir_mail_server WHERE id = @id", [Id(markerId)], cancellationToken);
        var existing = current.Rows.Select(r => r.Id).Where(id => id != marker).ToHashSet();
        foreach (var row in originals.Rows)
            await RestoreRowAsync(session, shape, originals, row, exists: existing.Contains(row.Id), cancellationToken);

        db.OdooRoutingSnapshots.Remove(snapshot);
        await CommitBothAsync(db, session, undo: async () =>
        {
            db.OdooRoutingSnapshots.Add(snapshot);
            await db.SaveChangesAsync(CancellationToken.None);
        }, cancellationToken);
    }

    public async Task<OdooTamperCheck> CheckAsync(ProjectEnvironment environment, CancellationToken cancellationToken)
    {
        try
        {
            await using var session = await OpenAsync(environment, cancellationToken);
            var shape = await session.ReadShapeAsync(cancellationToken);
            if (shape.Columns.Count == 0)
                return new OdooTamperCheck(OdooTamperStatus.Tampered, "Odoo's ir_mail_server table is gone or no longer readable by Mailtest.");
            // Under the lock, a change of ours in flight (saved in Mailtest, not yet committed in Odoo) has finished.
            await session.LockMailServersAsync(cancellationToken);
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            var snapshot = await FindSnapshotAsync(db, environment, cancellationToken);
            if (snapshot is null)
                return new OdooTamperCheck(OdooTamperStatus.Tampered, "Mailtest has no record of rerouting this Odoo database; re-enable Mailtest.");

            var originals = OpenRows(environment, snapshot);
            var target = Target(new OdooSmtpLogin(snapshot.SmtpUsername, OpenPassword(environment, snapshot)));
            var rows = await session.ReadRowsAsync(shape, cancellationToken);
            var verdict = OdooTamperInspector.Evaluate(snapshot.Approach, snapshot.MarkerRowId, target, originals, rows);
            switch (verdict.State)
            {
                case RoutingState.Neutralized:
                    await RepairNeutralizeAsync(db, session, environment, snapshot, shape, rows, target, cancellationToken);
                    return new OdooTamperCheck(OdooTamperStatus.RepairedAfterNeutralize,
                        "Odoo was neutralized (every mail server archived); Mailtest's mail server was put back and the neutralize placeholder archived.");
                case RoutingState.Tampered:
                    return new OdooTamperCheck(OdooTamperStatus.Tampered, verdict.Reason);
                default:
                    return new OdooTamperCheck(OdooTamperStatus.Intact, null);
            }
        }
        catch (OdooRoutingException e)
        {
            // A failure to read is never taken for tampering.
            return new OdooTamperCheck(OdooTamperStatus.Unreachable, e.Message);
        }
    }

    /// <summary>Archive the dummy row, bring the marker back, and keep the neutralized rows as the new
    /// originals: disabling later must not re-activate the production servers the neutralize switched off.</summary>
    private async Task RepairNeutralizeAsync(MailtestDbContext db, OdooSession session, ProjectEnvironment environment,
        OdooRoutingSnapshot snapshot, MailServerTableShape shape, MailServerRows rows, CaptureTarget target, CancellationToken cancellationToken)
    {
        var previousValues = db.Entry(snapshot).CurrentValues.Clone();
        var originals = WithoutRow(rows, snapshot.MarkerRowId);
        var dummies = originals.Rows.Where(r => r.Active && OdooTamperInspector.IsNeutralizeDummy(r)).Select(r => r.Id).ToArray();
        await session.ExecuteAsync("UPDATE ir_mail_server SET active = false WHERE id = ANY(@ids)", [Ids(dummies)], cancellationToken);
        if (snapshot.MarkerRowId is long marker && rows.Find(marker) is not null)
            await session.ExecuteAsync(
                "UPDATE ir_mail_server SET active = true, sequence = (SELECT COALESCE(MIN(sequence), 11) - 1 FROM ir_mail_server WHERE id <> @id) WHERE id = @id",
                [Id(marker)], cancellationToken);
        else
            snapshot.MarkerRowId = await InsertMarkerAsync(session, shape, target, cancellationToken);
        snapshot.SealedRows = SealRows(environment, originals);
        snapshot.UpdatedUtc = DateTime.UtcNow;
        await CommitBothAsync(db, session, undo: async () =>
        {
            db.Entry(snapshot).CurrentValues.SetValues(previousValues);
            await db.SaveChangesAsync(CancellationToken.None);
        }, cancellationToken);
    }

    private async Task<OdooSession> OpenAsync(ProjectEnvironment environment, CancellationToken cancellationToken) =>
        await OdooSession.OpenAsync(connections.Open(environment), Options, cancellationToken);

    /// <summary>The real version and table shape, checked against the environment's settings.</summary>
    private static async Task<(OdooVersion, MailServerTableShape)> RecogniseAsync(OdooSession session, ProjectEnvironment environment, CancellationToken cancellationToken)
    {
        var version = await session.ReadVersionAsync(cancellationToken);
        if (environment.OdooVersion is int configured && configured != version.Major)
            throw new OdooRoutingException(
                $"The Odoo database reports version {version.Reported}, but the environment is set to Odoo {configured}; correct the environment's Odoo version.");
        var shape = await session.ReadShapeAsync(cancellationToken);
        shape.EnsureRecognised(version);
        if (!await session.MayChangeMailServersAsync(cancellationToken))
            throw new OdooRoutingException(
                "The Odoo database user may not change ir_mail_server; grant it SELECT, INSERT, UPDATE and DELETE on ir_mail_server and USAGE on ir_mail_server_id_seq.");
        return (version, shape);
    }

    /// <summary>Saves Mailtest's side, then commits Odoo's; if that commit fails, Mailtest's side is undone.</summary>
    private static async Task CommitBothAsync(MailtestDbContext db, OdooSession session, Func<Task> undo, CancellationToken cancellationToken)
    {
        await db.SaveChangesAsync(cancellationToken);
        try
        {
            await session.CommitAsync(cancellationToken);
        }
        catch
        {
            await undo();
            throw;
        }
    }

    /// <summary>Odoo's own code defaults, given explicitly: a raw INSERT gets no ORM defaults.</summary>
    private async Task<long> InsertMarkerAsync(OdooSession session, MailServerTableShape shape, CaptureTarget target, CancellationToken cancellationToken)
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
        var id = await session.ScalarAsync<int>(sql,
            [Text("name", Options.MarkerName), Text("host", target.Host), new NpgsqlParameter<int>("port", target.Port),
             Text("user", target.Username), Text("pass", target.Password)], cancellationToken);
        return id;
    }

    /// <summary>Approach D: every row, active or archived, sends to us with our login.</summary>
    private static async Task RewriteAsync(OdooSession session, MailServerTableShape shape, long[] ids, CaptureTarget target, CancellationToken cancellationToken)
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

    /// <summary>Columns D writes; their earlier originals are kept on re-enable while a row still points at us.</summary>
    private static readonly string[] RewrittenColumns =
    [
        "smtp_host", "smtp_port", "smtp_encryption", "smtp_user", "smtp_pass", "smtp_authentication",
        "smtp_ssl_certificate", "smtp_ssl_private_key", .. MailServerTableShape.OAuthSwitches,
    ];

    /// <summary>
    /// On re-enable, the table still holds what Mailtest wrote (archived rows for C, rewritten ones for D):
    /// for those columns the earlier snapshot is the truth; everything else is taken as it is now.
    /// </summary>
    private static MailServerRows KeepEarlierOriginals(MailServerRows current, OdooRoutingSnapshot previous, long? oldMarker, MailServerRows earlier)
    {
        var rows = new List<MailServerRow>();
        foreach (var row in current.Rows.Where(r => r.Id != oldMarker))
        {
            var old = earlier.Find(row.Id);
            var written = previous.Approach == OdooRoutingApproach.C
                ? (row.Active ? [] : ["active"])
                : row["smtp_user"] == previous.SmtpUsername ? RewrittenColumns : []; // the user name is Mailtest's own
            rows.Add(old is null ? row : row.With(written.Where(c => row.Values.ContainsKey(c) && old.Values.ContainsKey(c)).ToDictionary(c => c, c => old[c])));
        }
        return new MailServerRows(current.Columns, rows);
    }

    /// <summary>The marker's id, if that row is still Mailtest's (after a restore the id may belong to someone else's row).</summary>
    private long? OurMarker(MailServerRows current, OdooRoutingSnapshot snapshot) =>
        snapshot.MarkerRowId is long id && current.Find(id) is { } row && (row.Name == Options.MarkerName || row["smtp_user"] == snapshot.SmtpUsername)
            ? id
            : null;

    private static MailServerRows WithoutRow(MailServerRows rows, long? id) =>
        new(rows.Columns, rows.Rows.Where(r => r.Id != id).ToList());

    /// <summary>Every column back to its snapshot value (cast from PostgreSQL's text form); a deleted row comes back with its id.</summary>
    private static async Task RestoreRowAsync(OdooSession session, MailServerTableShape shape, MailServerRows originals, MailServerRow row, bool exists, CancellationToken cancellationToken)
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

    private CaptureTarget Target(OdooSmtpLogin login)
    {
        if (string.IsNullOrWhiteSpace(login.Username) || string.IsNullOrEmpty(login.Password))
            throw new ArgumentException("The SMTP login written into Odoo needs a user name and a password.", nameof(login));
        return new CaptureTarget(smtp.Value.Host, smtp.Value.EffectivePort, login.Username, login.Password);
    }

    private void SetLogin(ProjectEnvironment environment, OdooRoutingSnapshot snapshot, OdooSmtpLogin login)
    {
        snapshot.SmtpUsername = login.Username;
        snapshot.SealedSmtpPassword = box.Seal(Encoding.UTF8.GetBytes(login.Password), Owner(environment, "smtp-password"));
        snapshot.UpdatedUtc = DateTime.UtcNow;
    }

    private string OpenPassword(ProjectEnvironment environment, OdooRoutingSnapshot snapshot) =>
        Encoding.UTF8.GetString(box.Open(snapshot.SealedSmtpPassword, Owner(environment, "smtp-password")));

    private byte[] SealRows(ProjectEnvironment environment, MailServerRows rows) =>
        box.Seal(Encoding.UTF8.GetBytes(rows.ToJson()), Owner(environment, "rows"));

    private MailServerRows OpenRows(ProjectEnvironment environment, OdooRoutingSnapshot snapshot) =>
        MailServerRows.FromJson(Encoding.UTF8.GetString(box.Open(snapshot.SealedRows, Owner(environment, "rows"))));

    /// <summary>Associated data: the environment, and which of its sealed values this is.</summary>
    private static byte[] Owner(ProjectEnvironment environment, string purpose) =>
        [.. environment.Id.ToByteArray(), .. Encoding.ASCII.GetBytes(purpose)];

    private static Task<OdooRoutingSnapshot?> FindSnapshotAsync(MailtestDbContext db, ProjectEnvironment environment, CancellationToken cancellationToken) =>
        db.OdooRoutingSnapshots.SingleOrDefaultAsync(s => s.EnvironmentId == environment.Id, cancellationToken);

    private static NpgsqlParameter Text(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Id(long id, string name = "id") => new(name, NpgsqlDbType.Integer) { Value = checked((int)id) };

    private static NpgsqlParameter Ids(long[] ids) =>
        new("ids", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = ids.Select(i => checked((int)i)).ToArray() };
}
