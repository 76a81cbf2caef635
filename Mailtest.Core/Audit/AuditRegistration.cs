using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Audit;

public static class AuditRegistration
{
    /// <summary>The audit log.</summary>
    public static IHostApplicationBuilder AddAudit(this IHostApplicationBuilder builder)
    {
        return builder;
    }
}
