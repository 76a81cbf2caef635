using Mailtest.Core.Data;
using Mailtest.Core.Security;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mailtest.Core.Odoo;

/// <summary>
/// Reroutes an Odoo database's <c>ir_mail_server</c> to this install (approach C on 16+, D on 13–15),
/// rotates the password, restores the original rows exactly, and checks for tampering. This class
/// decides what to do; the SQL is <see cref="MailServerStatements"/>, the snapshot's secrets are
/// sealed by <see cref="OdooSnapshotSeal"/>, and <see cref="SnapshotCommit"/> commits both databases
/// (undoing Mailtest's side when Odoo's commit fails).
/// </summary>
public sealed class OdooMailRouting(
    OdooConnectionSecret connections,
    IDbContextFactory<MailtestDbContext> databases,
    SecretBox box,
    IOptions<OdooOptions> options,
    IOptions<PublicSmtpOptions> smtp) : IOdooMailRouting
{
    private readonly OdooSnapshotSeal _seal = new(box);

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
        var undoPrevious = previous is null ? null : SnapshotCommit.RestoreValues(db, previous);

        await using var session = await OpenAsync(environment, cancellationToken);
        var (version, shape) = await RecogniseAsync(session, environment, cancellationToken);
        await session.LockMailServersAsync(cancellationToken);
        var current = await session.ReadRowsAsync(shape, cancellationToken);

        // Re-enable: our old marker goes, and values Mailtest wrote earlier are not taken for originals.
        var oldMarker = previous is null ? null : OurMarker(current, previous);
        var originals = previous is null ? WithoutRow(current, null) : KeepEarlierOriginals(current, previous, oldMarker, _seal.OpenRows(environment, previous));
        if (oldMarker is long oldMarkerId)
            await MailServerStatements.DeleteAsync(session, oldMarkerId, cancellationToken);

        long? markerId;
        if (version.Approach == OdooRoutingApproach.C)
        {
            await MailServerStatements.ArchiveAllAsync(session, cancellationToken);
            markerId = await MailServerStatements.InsertMarkerAsync(session, shape, Options.MarkerName, target, cancellationToken);
        }
        else
        {
            await MailServerStatements.RewriteAsync(session, shape, originals.Rows.Select(r => r.Id).ToArray(), target, cancellationToken);
            markerId = originals.Rows.Any(r => r.Active) ? null : await MailServerStatements.InsertMarkerAsync(session, shape, Options.MarkerName, target, cancellationToken);
        }

        var snapshot = previous ?? db.OdooRoutingSnapshots.Add(new OdooRoutingSnapshot
        {
            EnvironmentId = environment.Id, SealedRows = [], SmtpUsername = "", SealedSmtpPassword = [],
        }).Entity;
        snapshot.Approach = version.Approach;
        snapshot.OdooVersion = version.Major;
        snapshot.MarkerRowId = markerId;
        snapshot.SealedRows = _seal.SealRows(environment, originals);
        _seal.SetLogin(environment, snapshot, login);
        await SnapshotCommit.CommitAsync(db, session, undoPrevious ?? SnapshotCommit.Remove(db, snapshot), cancellationToken);
    }

    public async Task RotateAsync(ProjectEnvironment environment, OdooSmtpLogin login, CancellationToken cancellationToken)
    {
        var target = Target(login);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var snapshot = await FindSnapshotAsync(db, environment, cancellationToken)
            ?? throw new OdooRoutingException("Mailtest has not rerouted this Odoo database yet; enable Mailtest first.");
        var undo = SnapshotCommit.RestoreValues(db, snapshot);

        await using var session = await OpenAsync(environment, cancellationToken);
        await session.LockMailServersAsync(cancellationToken);
        var ours = snapshot.Approach == OdooRoutingApproach.C
            ? [snapshot.MarkerRowId!.Value]
            : _seal.OpenRows(environment, snapshot).Rows.Select(r => r.Id).Concat(snapshot.MarkerRowId is long m ? [m] : []).ToArray();
        var updated = await MailServerStatements.WriteLoginAsync(session, ours, snapshot.SmtpUsername, Options.MarkerName, target, cancellationToken);
        if (updated == 0)
            throw new OdooRoutingException("Mailtest's mail server rows are missing from Odoo, so the new password could not be written; re-enable Mailtest to put them back.");

        _seal.SetLogin(environment, snapshot, login);
        await SnapshotCommit.CommitAsync(db, session, undo, cancellationToken);
    }

    public async Task DisableAsync(ProjectEnvironment environment, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var snapshot = await FindSnapshotAsync(db, environment, cancellationToken);
        if (snapshot is null) return; // Nothing of ours in Odoo: disabling twice is not an error.
        var originals = _seal.OpenRows(environment, snapshot);

        await using var session = await OpenAsync(environment, cancellationToken);
        var shape = await session.ReadShapeAsync(cancellationToken);
        if (shape.Columns.Count == 0)
            throw new OdooRoutingException("The Odoo database no longer has an ir_mail_server table that Mailtest can see, so its mail servers cannot be restored; check the environment's Odoo connection.");
        await session.LockMailServersAsync(cancellationToken);
        var current = await session.ReadRowsAsync(shape, cancellationToken);
        var marker = OurMarker(current, snapshot);
        if (marker is long markerId)
            await MailServerStatements.DeleteAsync(session, markerId, cancellationToken);
        var existing = current.Rows.Select(r => r.Id).Where(id => id != marker).ToHashSet();
        foreach (var row in originals.Rows)
            await MailServerStatements.RestoreRowAsync(session, shape, originals, row, exists: existing.Contains(row.Id), cancellationToken);

        db.OdooRoutingSnapshots.Remove(snapshot);
        await SnapshotCommit.CommitAsync(db, session, SnapshotCommit.AddBack(db, snapshot), cancellationToken);
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

            var originals = _seal.OpenRows(environment, snapshot);
            var target = Target(_seal.OpenLogin(environment, snapshot));
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
        var undo = SnapshotCommit.RestoreValues(db, snapshot);
        var originals = WithoutRow(rows, snapshot.MarkerRowId);
        var dummies = originals.Rows.Where(r => r.Active && OdooTamperInspector.IsNeutralizeDummy(r)).Select(r => r.Id).ToArray();
        await MailServerStatements.ArchiveAsync(session, dummies, cancellationToken);
        if (snapshot.MarkerRowId is long marker && rows.Find(marker) is not null)
            await MailServerStatements.ReactivateFirstAsync(session, marker, cancellationToken);
        else
            snapshot.MarkerRowId = await MailServerStatements.InsertMarkerAsync(session, shape, Options.MarkerName, target, cancellationToken);
        snapshot.SealedRows = _seal.SealRows(environment, originals);
        snapshot.UpdatedUtc = DateTime.UtcNow;
        await SnapshotCommit.CommitAsync(db, session, undo, cancellationToken);
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
                : row["smtp_user"] == previous.SmtpUsername ? MailServerStatements.RewrittenColumns : []; // the user name is Mailtest's own
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

    private CaptureTarget Target(OdooSmtpLogin login)
    {
        if (string.IsNullOrWhiteSpace(login.Username) || string.IsNullOrEmpty(login.Password))
            throw new ArgumentException("The SMTP login written into Odoo needs a user name and a password.", nameof(login));
        return new CaptureTarget(smtp.Value.Host, smtp.Value.EffectivePort, login.Username, login.Password);
    }

    private static Task<OdooRoutingSnapshot?> FindSnapshotAsync(MailtestDbContext db, ProjectEnvironment environment, CancellationToken cancellationToken) =>
        db.OdooRoutingSnapshots.SingleOrDefaultAsync(s => s.EnvironmentId == environment.Id, cancellationToken);
}
