using Mailtest.Core.Audit;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Exports;
using Mailtest.Core.Messages;
using Mailtest.Core.Messages.Mailbox;
using Mailtest.Core.Odoo;
using Mailtest.Core.Retention;
using Mailtest.Core.Scheduling;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Mailtest.Web.Accounts;
using Mailtest.Web.Api;
using Mailtest.Web.Components;
using Mailtest.Web.Inbox;
using Mailtest.Web.Mailpit;
using Mailtest.Web.Webhooks;
using MudBlazor.Services;

namespace Mailtest.Web.Hosting;

/// <summary>
/// Builds the Mailtest host. Reads like a table of contents: each area registers itself.
/// Tests call <see cref="CreateBuilder"/> with their own settings, then <see cref="Build"/>.
/// </summary>
public static class MailtestHost
{
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        // appsettings.json sits next to the binary (copied from the repository root at build time),
        // so the same file is read under `dotnet run` and from a published folder.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // Serves blazor.web.js and MudBlazor's files straight from the build output under `dotnet run`
        // (a published folder has them in wwwroot; there this is a no-op).
        builder.WebHost.UseStaticWebAssets();
        builder.AddWebEndpoint();
        builder.AddMailtestData();
        builder.AddMailtestScheduler();
        builder.AddAudit();
        builder.AddTenancy();
        builder.AddMessageStore();
        builder.AddMailbox();
        builder.AddCapture();
        builder.AddRetention();
        builder.AddExports();
        builder.AddMailtestLifecycle();
        builder.AddOdooIntegration();
        builder.AddOdooTamperDetection();
        builder.AddSmtpCapture();
        builder.AddAccounts();
        builder.AddMailtestApi();
        builder.AddApiDocumentation();
        builder.AddInbox();
        builder.AddWebhooks();
        builder.AddMailpitCompatibility();

        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<RefusalProblems>();
        builder.Services.AddExceptionHandler<DatabaseUnavailableProblems>();
        builder.Services.AddMudServices();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        return builder;
    }

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();
        app.UseKnownProxies();
        app.UseSecurityHeaders();
        // Refusals are 4xx problem details in every environment, a database away for a moment 503/507; any other failure is the error page
        // (in Development, the developer exception page around it shows it instead).
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandlingPath = app.Environment.IsDevelopment() ? null : "/error",
            CreateScopeForErrors = true,
        });

        // Explicit routing, so that the Mailpit path clean-up runs before an endpoint is chosen.
        app.UseMailpitPaths();
        app.UseRouting();
        app.UseAccounts();
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapMailtestApi();
        app.MapApiDocumentation();
        app.MapInbox();
        app.MapMailpitCompatibility();
        app.MapAccounts();
        // Blazor would send its own CSP (frame-ancestors only) on interactive pages; ours says that and more.
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode(o => o.ContentSecurityFrameAncestorsPolicy = null);
        return app;
    }

    /// <summary>Applies migrations before anything else starts.</summary>
    public static Task MigrateDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default) =>
        services.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken);
}
