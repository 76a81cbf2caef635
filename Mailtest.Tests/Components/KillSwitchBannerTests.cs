using Bunit;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Tests.Data;
using Mailtest.Tests.Infrastructure;
using Mailtest.Tests.Smtp.Fakes;
using Mailtest.Web.Components.Layout;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using MudBlazor.Services;

namespace Mailtest.Tests.Components;

/// <summary>The banner every page shows while the kill switch is on, including a switch thrown on another node.</summary>
[TestCategory(Needs.Unit)]
public sealed class KillSwitchBannerTests : BunitContext, IClassFixture<SqliteCore>
{
    private readonly ManualTimeProvider _clock = new();
    private readonly FakeApplicationLifetime _application = new();
    private readonly IDbContextFactory<MailtestDbContext> _database;

    public KillSwitchBannerTests(SqliteCore core)
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
        _database = core.Core.Get<IDbContextFactory<MailtestDbContext>>();
        Services.AddSingleton(new KillSwitch(_database, _clock, NullLogger<KillSwitch>.Instance));
        Services.AddSingleton<TimeProvider>(_clock);
        Services.AddSingleton<IHostApplicationLifetime>(_application);
    }

    /// <summary>Thrown as another node does it: in the database, without this node's Changed event.</summary>
    private Task ThrowOnAnotherNodeAsync(bool on) => new KillSwitch(_database, TimeProvider.System, NullLogger<KillSwitch>.Instance).SetAsync(on);

    [Fact]
    public async Task A_switch_thrown_on_another_node_shows_within_the_recheck_and_the_rechecks_end_when_the_application_stops()
    {
        await ThrowOnAnotherNodeAsync(false);
        var banner = Render<KillSwitchBanner>();
        Assert.Empty(banner.FindAll("[data-testid=kill-switch-banner]"));

        await ThrowOnAnotherNodeAsync(true);
        _clock.Advance(KillSwitchBanner.RecheckEvery);
        banner.WaitForAssertion(() => Assert.Single(banner.FindAll("[data-testid=kill-switch-banner]")), TimeSpan.FromSeconds(30));

        // The page's circuit outlives the application's stop: its rechecks end then, and read no closing database.
        _application.StopApplication();
        await banner.Instance.Watching.WaitAsync(TimeSpan.FromSeconds(30), Xunit.TestContext.Current.CancellationToken);
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        _application.Dispose();
        await base.DisposeAsyncCore();
    }
}
