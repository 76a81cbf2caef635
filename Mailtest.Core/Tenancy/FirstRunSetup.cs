using Mailtest.Core.Data;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Tenancy;

/// <summary>
/// A fresh installation has no user: the setup page (or <c>Mailtest:Setup</c> in configuration, for
/// unattended installs) creates the first platform administrator. Once any user exists, setup is closed.
/// </summary>
public sealed class FirstRunSetup(IDbContextFactory<MailtestDbContext> dbFactory, TenancyAdministration administration)
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public async Task<bool> IsNeededAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return !await db.Users.AnyAsync(cancellationToken);
    }

    /// <exception cref="TenancyException">Setup is already done, or the input is refused.</exception>
    public async Task<UserAccount> CreateFirstAdministratorAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        // One at a time in this process; the unique email index guards the rest.
        await Gate.WaitAsync(cancellationToken);
        try
        {
            if (!await IsNeededAsync(cancellationToken))
                throw new TenancyException("Setup is already done: sign in with an existing account.");
            return await administration.CreateUserAsync(email, password, isPlatformAdmin: true, cancellationToken);
        }
        finally { Gate.Release(); }
    }
}

/// <summary>Bound from <c>Mailtest:Setup</c>: the first administrator of an unattended install.</summary>
public sealed class SetupOptions
{
    public const string Section = "Mailtest:Setup";
    public string? AdminEmail { get; set; }
    public string? AdminPassword { get; set; }
}
