using Mailtest.Tests.Infrastructure;
using System.Net;
using System.Text;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;
using Mailtest.Smtp;
using Mailtest.Tests.Data;
using Mailtest.Tests.Messages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Capture;

/// <summary>Core with a small Starter plan (3 messages, 20 kB) and a login guard that refuses environments named "guarded".</summary>
public sealed class CaptureCore : IAsyncLifetime
{
    public const int StarterMessageCap = 3;
    public const long StarterStorageCap = 20_000;

    public CoreServices Core { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Core = await CoreServices.StartAsync(DatabaseProvider.Sqlite,
        settings: new Dictionary<string, string?>
        {
            ["Mailtest:Plans:Starter:MessageCap"] = StarterMessageCap.ToString(),
            ["Mailtest:Plans:Starter:StorageCapBytes"] = StarterStorageCap.ToString(),
        },
        configure: services => services.AddSingleton<ISmtpLoginGuard, RefuseGuardedEnvironments>());

    public ValueTask DisposeAsync() => Core.DisposeAsync();

    public sealed class RefuseGuardedEnvironments : ISmtpLoginGuard
    {
        public static readonly SmtpReply Refusal = new(535, "5.7.8", "Authentication failed: tampering detected");
        public ValueTask<SmtpReply?> CheckAsync(ProjectEnvironment environment, CancellationToken cancellationToken) =>
            ValueTask.FromResult<SmtpReply?>(environment.Name == "guarded" ? Refusal : null);
    }
}

[TestCategory(Needs.Unit)]
public sealed class SmtpCaptureBackendTests(CaptureCore fixture) : IClassFixture<CaptureCore>
{
    private static readonly SmtpPeer Peer = new(new IPEndPoint(IPAddress.Loopback, 40000), "odoo.local", IsSecure: true);
    private readonly CoreServices _core = fixture.Core;

    private CredentialIssuer Issuer => _core.Get<CredentialIssuer>();

    private async Task<SmtpLoginResult> LoginAsync(string username, string password)
    {
        await using var scope = _core.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ISmtpBackend>().AuthenticateAsync(username, password, Peer, default);
    }

    private async Task<SmtpReply?> MailFromAsync(SmtpMailbox mailbox, long? declaredSize)
    {
        await using var scope = _core.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ISmtpBackend>().CheckSenderAsync(mailbox, declaredSize, default);
    }

    private async Task<SmtpReply> DeliverAsync(SmtpMailbox mailbox, string eml, params string[] to)
    {
        await using var scope = _core.Services.CreateAsyncScope();
        using var message = SpooledMessage.FromBytes(Encoding.UTF8.GetBytes(eml));
        return await scope.ServiceProvider.GetRequiredService<ISmtpBackend>()
            .DeliverAsync(new SmtpTransaction(mailbox, "app@shop.example", to, message, Peer), default);
    }

    private async Task<(ProjectEnvironment Environment, IssuedCredential Credential)> EnabledAsync(Plan plan = Plan.Pro, string name = "staging")
    {
        var environment = await _core.CreateEnvironmentAsync(plan, name: name);
        return (environment, await _core.Services.EnableMailtestAsync(environment.Id));
    }

    private async Task UpdateEnvironmentAsync(Guid environmentId, Action<ProjectEnvironment> change)
    {
        await using (var db = await _core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync())
        {
            change(await db.Environments.SingleAsync(e => e.Id == environmentId));
            await db.SaveChangesAsync();
        }
        _core.Get<SmtpCredentialCache>().Invalidate(environmentId); // what the lifecycle does after every change
    }

    [Theory]
    [InlineData(Plan.Starter, 10L * 1024 * 1024)]
    [InlineData(Plan.Pro, 25L * 1024 * 1024)]
    [InlineData(Plan.Agency, 50L * 1024 * 1024)]
    public async Task Issued_credentials_log_in_with_their_plans_message_size_limit(Plan plan, long maxBytes)
    {
        var (environment, credential) = await EnabledAsync(plan);

        var login = await LoginAsync(credential.Username, credential.Password);

        Assert.True(login.Succeeded, login.Refusal?.ToString());
        Assert.Equal(new SmtpMailbox(credential.Username, environment.Project!.OrganizationId, environment.Id), login.Mailbox);
        Assert.Equal(maxBytes, login.MaxMessageBytes);
        Assert.Matches("^org-[a-z0-9]{6}-env-[a-z0-9]{6}$", credential.Username);
    }

    [Fact]
    public async Task A_wrong_password_or_an_unknown_username_is_535()
    {
        var (_, credential) = await EnabledAsync();

        var wrong = await LoginAsync(credential.Username, credential.Password + "x");
        var unknown = await LoginAsync("org-nobody-env-nobody", credential.Password);

        Assert.Equal("535 5.7.8 Authentication failed", wrong.Refusal.ToString());
        Assert.Equal("535 5.7.8 Authentication failed", unknown.Refusal.ToString());
        Assert.False(wrong.Succeeded);
    }

    [Fact]
    public async Task Revocation_and_reissue_take_effect_at_once_despite_the_cache()
    {
        var (environment, credential) = await EnabledAsync();
        Assert.True((await LoginAsync(credential.Username, credential.Password)).Succeeded); // now cached

        await Issuer.RevokeAsync(environment.Id);
        Assert.Equal(535, (await LoginAsync(credential.Username, credential.Password)).Refusal!.Value.Code);

        var reissued = await Issuer.IssueAsync(environment.Id);
        Assert.True((await LoginAsync(reissued.Username, reissued.Password)).Succeeded);
        Assert.Equal(535, (await LoginAsync(credential.Username, credential.Password)).Refusal!.Value.Code);
    }

    [Fact]
    public async Task During_rotation_a_correct_login_is_told_to_retry_with_421()
    {
        var (environment, credential) = await EnabledAsync();
        Assert.True((await LoginAsync(credential.Username, credential.Password)).Succeeded);

        await UpdateEnvironmentAsync(environment.Id, e => { e.IsRotating = true; e.RotationStartedUtc = DateTime.UtcNow; });

        Assert.Equal("421 4.7.0 Credential rotation in progress, try again shortly", (await LoginAsync(credential.Username, credential.Password)).Refusal.ToString());
        Assert.Equal(535, (await LoginAsync(credential.Username, "wrong")).Refusal!.Value.Code);
    }

    [Fact]
    public async Task Disabled_production_and_free_plan_environments_are_refused_with_535()
    {
        var (disabled, disabledCredential) = await EnabledAsync();
        await UpdateEnvironmentAsync(disabled.Id, e => e.MailtestState = MailtestState.Disabled);
        Assert.Equal(535, (await LoginAsync(disabledCredential.Username, disabledCredential.Password)).Refusal!.Value.Code);

        var production = await _core.CreateEnvironmentAsync(Plan.Pro, EnvironmentKind.Production);
        var productionError = await Assert.ThrowsAsync<AccessDeniedException>(() => _core.Services.EnableMailtestAsync(production.Id));
        Assert.Contains("production", productionError.Message);
        // Even with a credential stored by other means, production never logs in.
        var productionUser = await Issuer.StoreAsync(production.Id, "production-password-123456");
        await UpdateEnvironmentAsync(production.Id, e => e.MailtestState = MailtestState.Enabled);
        Assert.Equal(535, (await LoginAsync(productionUser, "production-password-123456")).Refusal!.Value.Code);

        var free = await _core.CreateEnvironmentAsync(Plan.Free);
        Assert.Contains("not available on the Free plan", (await Assert.ThrowsAsync<AccessDeniedException>(() => _core.Services.EnableMailtestAsync(free.Id))).Message);
        var freeUser = await Issuer.StoreAsync(free.Id, "free-plan-password-123456");
        await UpdateEnvironmentAsync(free.Id, e => e.MailtestState = MailtestState.Enabled);
        Assert.Equal(535, (await LoginAsync(freeUser, "free-plan-password-123456")).Refusal!.Value.Code);
    }

    [Fact]
    public async Task Every_registered_login_guard_is_asked()
    {
        var (_, credential) = await EnabledAsync(name: "guarded");

        var login = await LoginAsync(credential.Username, credential.Password);

        Assert.Equal(CaptureCore.RefuseGuardedEnvironments.Refusal, login.Refusal);
    }

    [Fact]
    public async Task The_kill_switch_answers_421_4_3_2_at_connect_login_and_mail_from()
    {
        var (_, credential) = await EnabledAsync();
        var mailbox = (await LoginAsync(credential.Username, credential.Password)).Mailbox!;
        var killSwitch = _core.Get<KillSwitch>();
        try
        {
            await killSwitch.SetAsync(true);
            await using var scope = _core.Services.CreateAsyncScope();
            var backend = scope.ServiceProvider.GetRequiredService<ISmtpBackend>();

            Assert.Equal("421 4.3.2 Service shutting down", (await backend.CheckConnectionAsync(Peer, default)).ToString());
            Assert.Equal("421 4.3.2 Service shutting down", (await backend.AuthenticateAsync(credential.Username, credential.Password, Peer, default)).Refusal.ToString());
            Assert.Equal("421 4.3.2 Service shutting down", (await backend.CheckSenderAsync(mailbox, null, default)).ToString());
        }
        finally { await killSwitch.SetAsync(false); }

        await using var after = _core.Services.CreateAsyncScope();
        Assert.Null(await after.ServiceProvider.GetRequiredService<ISmtpBackend>().CheckConnectionAsync(Peer, default));
    }

    [Fact]
    public async Task A_declared_size_over_the_plan_limit_is_552()
    {
        var (_, credential) = await EnabledAsync(Plan.Starter);
        var mailbox = (await LoginAsync(credential.Username, credential.Password)).Mailbox!;

        Assert.Equal("552 5.3.4 Message exceeds fixed maximum message size", (await MailFromAsync(mailbox, 10L * 1024 * 1024 + 1)).ToString());
        Assert.Null(await MailFromAsync(mailbox, 10_000));
        Assert.Null(await MailFromAsync(mailbox, null));
    }

    [Fact]
    public async Task Delivery_stores_the_message_and_answers_250_with_its_id()
    {
        var (environment, credential) = await EnabledAsync();
        var mailbox = (await LoginAsync(credential.Username, credential.Password)).Mailbox!;

        var reply = await DeliverAsync(mailbox, SampleMail.Plain("Order confirmed"), "customer@example.com", "bcc-copy@example.com");

        Assert.Equal(250, reply.Code);
        Assert.StartsWith("2.0.0", reply.EnhancedStatus);
        var id = Guid.Parse(Assert.Single(System.Text.RegularExpressions.Regex.Match(reply.Text, "^Ok: queued as ([0-9a-f]{32})$").Groups.Values.Skip(1)).Value);
        var message = await _core.Get<IMessageStore>().GetAsync(id, [environment.Id]);
        Assert.Equal("Order confirmed", message!.Subject);
        Assert.Equal("customer@example.com, bcc-copy@example.com", message.EnvelopeTo);
    }

    [Fact]
    public async Task An_organization_at_its_message_cap_gets_452_until_the_purge_it_triggers_frees_room()
    {
        var (environment, credential) = await EnabledAsync(Plan.Starter);
        var mailbox = (await LoginAsync(credential.Username, credential.Password)).Mailbox!;
        // Filled behind SMTP's back, so nothing has started a purge yet.
        var oldest = await _core.IngestAsync(environment, SampleMail.Plain("Message 0"));
        for (var i = 1; i < CaptureCore.StarterMessageCap; i++)
            await _core.IngestAsync(environment, SampleMail.Plain($"Message {i}"));

        Assert.Equal("452 4.3.1 Insufficient system storage", (await MailFromAsync(mailbox, null)).ToString());

        // The 452 started a purge of the oldest message (headroom: 95 % of 3 leaves 2); the next MAIL FROM is accepted.
        await _core.Get<CapPurgeTrigger>().IdleAsync();
        Assert.Null(await MailFromAsync(mailbox, null));
        Assert.Equal(CaptureCore.StarterMessageCap - 1, await _core.Get<IMessageStore>().CountAsync(environment.Id));
        Assert.Null(await _core.Get<IMessageStore>().GetAsync(oldest, [environment.Id]));
    }

    [Fact]
    public async Task A_message_that_fills_the_cap_starts_the_purge_before_the_next_MAIL_FROM()
    {
        var (environment, credential) = await EnabledAsync(Plan.Starter);
        var mailbox = (await LoginAsync(credential.Username, credential.Password)).Mailbox!;
        for (var i = 0; i < CaptureCore.StarterMessageCap; i++)
        {
            Assert.Null(await MailFromAsync(mailbox, null));
            Assert.Equal(250, (await DeliverAsync(mailbox, SampleMail.Plain($"Message {i}"), "x@example.com")).Code);
        }

        await _core.Get<CapPurgeTrigger>().IdleAsync();
        Assert.Null(await MailFromAsync(mailbox, null));
        var subjects = (await _core.Get<IMessageStore>().ListAsync(new MessageListQuery([environment.Id]))).Items.Select(m => m.Subject);
        Assert.Equal(["Message 2", "Message 1"], subjects);
    }

    [Fact]
    public async Task A_message_larger_than_the_storage_cap_gets_452()
    {
        var (_, credential) = await EnabledAsync(Plan.Starter);
        var mailbox = (await LoginAsync(credential.Username, credential.Password)).Mailbox!;

        Assert.Equal("452 4.3.1 Insufficient system storage", (await MailFromAsync(mailbox, CaptureCore.StarterStorageCap + 1)).ToString());
    }
}
