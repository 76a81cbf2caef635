using Mailtest.Core.Capture;
using Mailtest.Core.Tenancy;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Infrastructure;

public static class OperatorEnabling
{
    /// <summary>Enables Mailtest on an environment through the lifecycle, the way <c>admin credentials issue</c> does, and returns its SMTP login.</summary>
    public static async Task<IssuedCredential> EnableMailtestAsync(this IServiceProvider services, Guid environmentId)
    {
        var enabled = await services.GetRequiredService<MailtestLifecycle>().EnableAsync(Caller.Operator("test-setup"), environmentId);
        return new IssuedCredential(enabled.Username, enabled.Password);
    }
}
