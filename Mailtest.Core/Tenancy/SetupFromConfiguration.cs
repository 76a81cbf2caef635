using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Core.Tenancy;

/// <summary>
/// Unattended installs: when <c>Mailtest:Setup:AdminEmail</c> and <c>AdminPassword</c> are set and
/// the database has no user yet, creates that platform administrator at start (after migrations).
/// </summary>
internal sealed class SetupFromConfiguration(IOptions<SetupOptions> options, FirstRunSetup setup, ILogger<SetupFromConfiguration> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var configured = options.Value;
        if (string.IsNullOrWhiteSpace(configured.AdminEmail) || string.IsNullOrEmpty(configured.AdminPassword)) return;
        if (!await setup.IsNeededAsync(cancellationToken)) return;
        var admin = await setup.CreateFirstAdministratorAsync(configured.AdminEmail, configured.AdminPassword, cancellationToken);
        logger.LogInformation("Created the first platform administrator {Email} from configuration.", admin.Email);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
