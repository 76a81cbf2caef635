using Mailtest.Core.Tenancy;
using Mailtest.Smtp;

namespace Mailtest.Core.Capture;

/// <summary>
/// A check that runs at AUTH after the credential matched, before the login is accepted. Each
/// registered guard may refuse (e.g. the Odoo tamper check answers <c>535 5.7.8</c> with a text
/// that says tampering was detected). Guards must stay cheap: cache what they learn.
/// </summary>
public interface ISmtpLoginGuard
{
    ValueTask<SmtpReply?> CheckAsync(ProjectEnvironment environment, CancellationToken cancellationToken);
}
