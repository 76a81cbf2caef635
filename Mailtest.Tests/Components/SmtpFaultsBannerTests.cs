using Mailtest.Tests.Infrastructure;
using Bunit;
using Mailtest.Core.Capture;
using Mailtest.Web.Components.Environments;
using MudBlazor.Services;

namespace Mailtest.Tests.Components;

/// <summary>The environment page's banner while SMTP fault injection is on.</summary>
[TestCategory(Needs.Unit)]
public sealed class SmtpFaultsBannerTests : BunitContext
{
    public SmtpFaultsBannerTests()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
    }

    [Fact]
    public void While_a_trigger_is_on_the_banner_says_which_step_fails_how_and_how_often()
    {
        var faults = SmtpFaults.None with { Recipient = new SmtpFaultTrigger(550, 30), Authentication = new SmtpFaultTrigger(454, 100) };

        var banner = Render<SmtpFaultsBanner>(p => p.Add(b => b.Faults, faults));

        var text = banner.Find("[data-testid=smtp-faults-banner]").TextContent;
        Assert.Contains("SMTP fault injection is on", text);
        Assert.Contains("AUTH answers 454 in 100% of attempts; RCPT TO answers 550 in 30% of attempts", text);
    }

    [Fact]
    public void Off_shows_nothing()
    {
        var banner = Render<SmtpFaultsBanner>(p => p.Add(b => b.Faults, SmtpFaults.None with { Sender = new SmtpFaultTrigger(550, 0) }));

        Assert.Empty(banner.FindAll("[data-testid=smtp-faults-banner]"));
    }
}
