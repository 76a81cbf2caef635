namespace Mailtest.Web.Api;

/// <summary>The HTTP API under /api/v1 with bearer tokens.</summary>
public static class ApiRegistration
{
    public static WebApplicationBuilder AddMailtestApi(this WebApplicationBuilder builder) => builder;

    public static WebApplication MapMailtestApi(this WebApplication app) => app;
}
