using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Tenancy;

public static class TenancyRegistration
{
    /// <summary>Organizations, projects, environments, members and the permission rules.</summary>
    public static IHostApplicationBuilder AddTenancy(this IHostApplicationBuilder builder)
    {
        return builder;
    }
}
