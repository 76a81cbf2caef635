namespace Mailtest.Web.Accounts;

/// <summary>Local accounts, cookie sign-in, first-run setup.</summary>
public static class AccountsRegistration
{
    public static WebApplicationBuilder AddAccounts(this WebApplicationBuilder builder) => builder;

    /// <summary>Authentication and authorization middleware.</summary>
    public static WebApplication UseAccounts(this WebApplication app) => app;

    /// <summary>Sign-in, sign-out and setup endpoints.</summary>
    public static WebApplication MapAccounts(this WebApplication app) => app;
}
