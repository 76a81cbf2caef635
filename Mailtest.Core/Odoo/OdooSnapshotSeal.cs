using System.Text;
using Mailtest.Core.Security;
using Mailtest.Core.Tenancy;

namespace Mailtest.Core.Odoo;

/// <summary>
/// Seals what a routing snapshot keeps of Odoo (its original rows, with Odoo's own SMTP passwords,
/// and the password Mailtest wrote into Odoo) to the environment, and opens it again.
/// </summary>
internal sealed class OdooSnapshotSeal(SecretBox box)
{
    public byte[] SealRows(ProjectEnvironment environment, MailServerRows rows) =>
        box.Seal(Encoding.UTF8.GetBytes(rows.ToJson()), Owner(environment, "rows"));

    public MailServerRows OpenRows(ProjectEnvironment environment, OdooRoutingSnapshot snapshot) =>
        MailServerRows.FromJson(Encoding.UTF8.GetString(box.Open(snapshot.SealedRows, Owner(environment, "rows"))));

    /// <summary>Records the login written into Odoo: the user name as it is, the password sealed.</summary>
    public void SetLogin(ProjectEnvironment environment, OdooRoutingSnapshot snapshot, OdooSmtpLogin login)
    {
        snapshot.SmtpUsername = login.Username;
        snapshot.SealedSmtpPassword = box.Seal(Encoding.UTF8.GetBytes(login.Password), Owner(environment, "smtp-password"));
        snapshot.UpdatedUtc = DateTime.UtcNow;
    }

    public OdooSmtpLogin OpenLogin(ProjectEnvironment environment, OdooRoutingSnapshot snapshot) =>
        new(snapshot.SmtpUsername, Encoding.UTF8.GetString(box.Open(snapshot.SealedSmtpPassword, Owner(environment, "smtp-password"))));

    /// <summary>Associated data: the environment, and which of its sealed values this is.</summary>
    private static byte[] Owner(ProjectEnvironment environment, string purpose) =>
        [.. environment.Id.ToByteArray(), .. Encoding.ASCII.GetBytes(purpose)];
}
