using Mailtest.Core.Data;
using Mailtest.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Hosting;

[TestCategory(Needs.Browser)]
public sealed class HostStartupTests(PostgresServer postgres, ChromiumBrowser chromium)
{
    [Fact]
    public async Task Dashboard_home_page_renders_in_a_real_browser()
    {
        await using var host = await MailtestTestHost.StartAsync();
        await using var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();

        var response = await page.GotoAsync(host.WebAddress.ToString());

        Assert.Equal(200, response!.Status);
        Assert.Contains("Mailtest", await page.TitleAsync());
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task Migrations_match_the_model_on_each_provider(DatabaseProvider provider)
    {
        var settings = new Dictionary<string, string?> { ["Mailtest:Data:Provider"] = provider.ToString() };
        if (provider == DatabaseProvider.Postgres)
            settings["Mailtest:Data:ConnectionString"] = await postgres.CreateDatabaseAsync("startup");
        await using var host = await MailtestTestHost.StartAsync(settings);
        await using var db = await host.Services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();

        Assert.False(db.Database.GetPendingMigrations().Any(), "migrations were applied at start");
        Assert.False(db.Database.HasPendingModelChanges(), "run scripts/regenerate-migrations.sh after changing the model");
    }
}
