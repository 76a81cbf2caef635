using Mailtest.Tests.Infrastructure;
using Mailtest.Core.Odoo;
using Bunit;
using Mailtest.Core.Capture;
using Mailtest.Web.Components.Environments;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using MudBlazor.Services;

namespace Mailtest.Tests.Components;

/// <summary>The Mailtest tab's dialogs and banners, rendered by bUnit inside MudBlazor's dialog provider.</summary>
[TestCategory(Needs.Unit)]
public sealed class MailtestDialogTests : BunitContext
{
    private readonly IRenderedComponent<MudDialogProvider> _provider;

    public MailtestDialogTests()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
        Render<MudPopoverProvider>();
        _provider = Render<MudDialogProvider>();
    }

    private async Task<IDialogReference> ShowAsync<TDialog>(DialogParameters<TDialog> parameters) where TDialog : ComponentBase
    {
        var dialogs = Services.GetService(typeof(IDialogService)) as IDialogService;
        return await _provider.InvokeAsync(() => dialogs!.ShowAsync<TDialog>(null, parameters));
    }

    private static DialogParameters<ConsentDialog> Consent(MailtestConsent consent) => new()
    {
        { d => d.EnvironmentName, "staging" }, { d => d.Consent, consent }, { d => d.Host, "mail.example.test" }, { d => d.Port, 587 },
    };

    [Fact]
    public async Task Consent_for_Odoo_16_and_later_says_servers_are_archived_and_lists_templates_that_will_fail()
    {
        var dialog = await ShowAsync(Consent(new MailtestConsent(OdooRoutingApproach.C, 17, ["Invoice: Send by email", "Order confirmation"], null)));

        var text = _provider.Find("[data-testid=consent-dialog]").TextContent;
        Assert.Contains("Odoo 17", text);
        Assert.Contains("disable (archive) your existing outgoing mail servers", text);
        Assert.Contains("server cannot be used because it's archived", text);
        Assert.Equal(["Invoice: Send by email", "Order confirmation"], _provider.FindAll("[data-testid=explicit-server-templates] li").Select(li => li.TextContent));

        await _provider.Find("[data-testid=consent-confirm]").ClickAsync(new());
        var result = await dialog.Result;
        Assert.False(result!.Canceled);
    }

    [Fact]
    public async Task Consent_for_Odoo_13_to_15_says_servers_are_rewritten_and_restored()
    {
        await ShowAsync(Consent(new MailtestConsent(OdooRoutingApproach.D, 14, [], null)));

        var text = _provider.Find("[data-testid=consent-dialog]").TextContent;
        Assert.Contains("Odoo 14", text);
        Assert.Contains("rewrite your existing outgoing mail servers", text);
        Assert.Contains("restore them on disable", text);
        Assert.DoesNotContain("archived", text);
    }

    [Fact]
    public async Task Consent_without_Odoo_offers_credentials_for_any_application()
    {
        await ShowAsync(Consent(new MailtestConsent(null, null, [], null)));

        var text = _provider.Find("[data-testid=consent-dialog]").TextContent;
        Assert.Contains("no Odoo connection", text);
        Assert.Contains("for any application", text);
        Assert.DoesNotContain("ir.mail_server", text);
    }

    [Fact]
    public async Task Consent_cannot_be_given_when_Odoo_could_not_be_inspected()
    {
        var dialog = await ShowAsync(Consent(new MailtestConsent(OdooRoutingApproach.C, 17, [], "The Odoo database did not answer.")));

        Assert.Contains("did not answer", _provider.Find("[data-testid=consent-error]").TextContent);
        Assert.True(_provider.Find("[data-testid=consent-confirm]").HasAttribute("disabled"));
        await _provider.InvokeAsync(() => dialog.Close(DialogResult.Cancel()));
    }

    [Fact]
    public async Task The_reveal_shows_every_setting_once_and_copies_the_password()
    {
        var dialog = await ShowAsync(new DialogParameters<CredentialRevealDialog>
        {
            { d => d.Host, "mail.example.test" }, { d => d.Port, 587 }, { d => d.Username, "org-abcdef-env-ghijkl" },
            { d => d.Password, "s3cret-Pa55word" }, { d => d.HasOdoo, true },
        });

        Assert.Equal("mail.example.test", _provider.Find("[data-testid=reveal-host]").TextContent);
        Assert.Equal("587", _provider.Find("[data-testid=reveal-port]").TextContent);
        Assert.Equal("STARTTLS", _provider.Find("[data-testid=reveal-encryption]").TextContent);
        Assert.Equal("org-abcdef-env-ghijkl", _provider.Find("[data-testid=reveal-username]").TextContent);
        Assert.Equal("s3cret-Pa55word", _provider.Find("[data-testid=reveal-password]").TextContent);
        Assert.Contains("shown only once", _provider.Markup);
        Assert.Contains("Odoo is already configured automatically", _provider.Markup);

        await _provider.Find("button[data-testid=copy-password]").ClickAsync(new());
        var copy = JSInterop.VerifyInvoke("navigator.clipboard.writeText");
        Assert.Equal("s3cret-Pa55word", copy.Arguments[0]);

        var close = _provider.Find("[data-testid=reveal-close]");
        Assert.Equal("I've saved these, close", close.TextContent.Trim());
        await close.ClickAsync(new());
        Assert.False((await dialog.Result)!.Canceled);
        Assert.DoesNotContain("s3cret-Pa55word", _provider.Markup);
    }

    [Fact]
    public async Task Rotate_warns_that_AUTH_pauses_and_can_be_cancelled()
    {
        var dialog = await ShowAsync(new DialogParameters<RotateDialog> { { d => d.EnvironmentName, "staging" }, { d => d.HasOdoo, true } });

        var text = _provider.Find("[data-testid=rotate-dialog]").TextContent;
        Assert.Contains("SMTP AUTH is temporarily blocked", text);
        Assert.Contains("updated in-place", text);

        await _provider.FindAll("button").Single(b => b.TextContent.Trim() == "Cancel").ClickAsync(new());
        Assert.True((await dialog.Result)!.Canceled);
    }

    [Fact]
    public async Task Rotate_confirmation_closes_with_ok()
    {
        var dialog = await ShowAsync(new DialogParameters<RotateDialog> { { d => d.EnvironmentName, "staging" } });

        Assert.Contains("update the password in your application yourself", _provider.Markup);
        await _provider.Find("[data-testid=rotate-confirm]").ClickAsync(new());
        Assert.False((await dialog.Result)!.Canceled);
    }

    [Fact]
    public async Task Disable_says_how_many_emails_are_kept_until_when_and_has_room_for_the_export()
    {
        RenderFragment export = b => b.AddMarkupContent(0, "<p data-testid=\"export\">Download all as .zip</p>");
        var dialog = await ShowAsync(new DialogParameters<DisableDialog>
        {
            { d => d.EnvironmentName, "staging" }, { d => d.KeptMessages, 42 }, { d => d.KeptUntil, new DateTime(2027, 2, 22, 0, 0, 0, DateTimeKind.Utc) },
            { d => d.HasOdoo, true }, { d => d.BeforeConfirm, export },
        });

        Assert.Contains("42 captured emails will be kept until February 22, 2027", _provider.Find("[data-testid=disable-kept]").TextContent);
        Assert.Contains("restored to its pre-Mailtest state", _provider.Markup);
        Assert.Contains("credentials are invalidated", _provider.Markup);
        Assert.NotNull(_provider.Find("[data-testid=export]"));

        var confirm = _provider.Find("[data-testid=disable-confirm]");
        Assert.Equal("Confirm Disable", confirm.TextContent.Trim());
        await confirm.ClickAsync(new());
        Assert.False((await dialog.Result)!.Canceled);
    }

    [Fact]
    public void The_rotation_banner_offers_retry_and_abort_to_managers_only()
    {
        var retried = 0;
        var aborted = 0;
        var banner = Render<RotationBanner>(p => p.Add(b => b.CanManage, true)
            .Add(b => b.OnRetry, () => retried++).Add(b => b.OnAbort, () => aborted++));

        Assert.Contains("Rotation in progress", banner.Markup);
        banner.Find("[data-testid=rotation-retry]").Click();
        banner.Find("[data-testid=rotation-abort]").Click();
        Assert.Equal((1, 1), (retried, aborted));

        var viewer = Render<RotationBanner>(p => p.Add(b => b.CanManage, false));
        Assert.Empty(viewer.FindAll("button"));
    }

    [Fact]
    public void The_tamper_banner_explains_and_offers_re_enable()
    {
        var reEnabled = false;
        var banner = Render<TamperBanner>(p => p.Add(b => b.Reason, "The Mailtest mail server row was deleted.")
            .Add(b => b.CanManage, true).Add(b => b.OnReEnable, () => reEnabled = true));

        Assert.Contains("Tamper detected", banner.Markup);
        Assert.Contains("The Mailtest mail server row was deleted.", banner.Markup);
        var button = banner.Find("[data-testid=tamper-reenable]");
        Assert.Equal("Re-enable to fix", button.TextContent.Trim());
        button.Click();
        Assert.True(reEnabled);
    }
}
