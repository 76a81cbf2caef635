using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Mailtest.Core.Tenancy;

public static class TenancyRegistration
{
    /// <summary>Organizations, projects, environments, members, accounts, API tokens and the permission rules.</summary>
    public static IHostApplicationBuilder AddTenancy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PlanOptions>().BindConfiguration(PlanOptions.Section);
        builder.Services.AddOptions<SetupOptions>().BindConfiguration(SetupOptions.Section);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IPasswordHasher<UserAccount>, PasswordHasher<UserAccount>>();
        builder.Services.AddSingleton<TenancyAdministration>();
        builder.Services.AddSingleton<AccessRules>();
        builder.Services.AddSingleton<CurrentAccess>();
        builder.Services.AddSingleton<AccountSessions>();
        builder.Services.AddSingleton<SignInThrottle>();
        builder.Services.AddSingleton<TenancyDirectory>();
        builder.Services.AddSingleton<AccountSignIn>();
        builder.Services.AddSingleton<FirstRunSetup>();
        builder.Services.AddSingleton<ApiTokens>();
        builder.Services.AddSingleton<LiveMailAccess>();
        builder.Services.AddHostedService<SetupFromConfiguration>();
        return builder;
    }
}
