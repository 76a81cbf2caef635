using Mailtest.Core.Data;

namespace Mailtest.Core.Odoo;

/// <summary>
/// Commits a change made in two databases that share no transaction: Odoo's change is already made
/// inside its open transaction; Mailtest's snapshot is saved first, then Odoo commits, and if that
/// commit fails the snapshot change is undone. So Mailtest never forgets what it wrote into Odoo.
/// </summary>
internal static class SnapshotCommit
{
    public static async Task CommitAsync(MailtestDbContext db, OdooSession session, Func<Task> undo, CancellationToken cancellationToken)
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

    /// <summary>For a snapshot that existed before: undoing puts its earlier values back.</summary>
    public static Func<Task> RestoreValues(MailtestDbContext db, OdooRoutingSnapshot snapshot)
    {
        var earlier = db.Entry(snapshot).CurrentValues.Clone();
        return async () =>
        {
            db.Entry(snapshot).CurrentValues.SetValues(earlier);
            await db.SaveChangesAsync(CancellationToken.None);
        };
    }

    /// <summary>For a snapshot added now: undoing removes it.</summary>
    public static Func<Task> Remove(MailtestDbContext db, OdooRoutingSnapshot snapshot) => async () =>
    {
        db.OdooRoutingSnapshots.Remove(snapshot);
        await db.SaveChangesAsync(CancellationToken.None);
    };

    /// <summary>For a snapshot removed now: undoing adds it back.</summary>
    public static Func<Task> AddBack(MailtestDbContext db, OdooRoutingSnapshot snapshot) => async () =>
    {
        db.OdooRoutingSnapshots.Add(snapshot);
        await db.SaveChangesAsync(CancellationToken.None);
    };
}
