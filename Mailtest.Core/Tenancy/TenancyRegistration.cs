using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Tenancy;

public static class TenancyRegistration
{
    /// <summary>Organizations, projects, environments, members and the permission rules.</summary>
    public static IHostApplicationBuilder AddTenancy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PlanOptions>().BindConfiguration(PlanOptions.Section);
        builder.Services.AddSingleton<IPasswordHasher<UserAccount>, PasswordHasher<UserAccount>>();
        builder.Services.AddSingleton<TenancyAdministration>();
        builder.Services.AddSingleton<AccessRules>();
        return builder;
    }
}
