using Mailtest.Core.Notifications;
using Mailtest.Smtp;
using Mailtest.Tests.Infrastructure;
using Mailtest.Tests.Smtp;
using Mailtest.Tests.Smtp.Fakes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MimeKit;

namespace Mailtest.Tests.Notifications;

/// <summary>
/// Mailtest's own mail through a real SMTP relay (our engine with a backend told to refuse) on a fake
/// clock: a refused mail is sent again after its delay without holding up the mail behind it, and a
/// mail the relay keeps refusing is given up after the last delay, in the log.
/// </summary>
[TestCategory(Needs.Host)]
public sealed class NotificationMailerTests : IAsyncLifetime
{
    private const string RelayUser = "mailtest-relay", RelayPassword = "relay-Passw0rd-1";
    private static readonly SmtpReply TryLater = new(451, "4.3.0", "Try again later");

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-26T10:00:00Z"));
    private readonly CapturedLogs _logs = new();
    private SmtpTestHost _relay = null!;

    public async ValueTask InitializeAsync() =>
        _relay = await SmtpTestHost.StartAsync(new FakeSmtpBackend().WithLogin(RelayUser, RelayPassword));

    public async ValueTask DisposeAsync() => await _relay.DisposeAsync();

    private NotificationMailer Mailer(params TimeSpan[] retryDelays) => new(Options.Create(new NotificationOptions
    {
        Host = "127.0.0.1",
        Port = _relay.StartTls.Port,
        Tls = "StartTls",
        AcceptAnyCertificate = true,
        User = RelayUser,
        Password = RelayPassword,
        From = "Mailtest <mailtest@acme.example>",
        RetryDelays = retryDelays,
    }), _clock, LoggerFactory.Create(logging => logging.AddProvider(_logs)).CreateLogger<NotificationMailer>());

    [Fact]
    public async Task A_mail_the_relay_refuses_is_sent_after_its_delay_and_the_next_mail_does_not_wait_for_it()
    {
        await using var mailer = Mailer(TimeSpan.FromSeconds(10));
        _relay.Backend.SenderRefusal = TryLater;
        Assert.True(mailer.Enqueue(new NotificationMail("alice@example.com", "Export ready", "first")));
        await Until(() => _relay.Backend.SenderChecks == 1, "the first attempt");
        _relay.Backend.SenderRefusal = null;

        Assert.True(mailer.Enqueue(new NotificationMail("bob@example.com", "Another export ready", "second")));
        await Until(() => _relay.Backend.Delivered.Count == 1, "the second mail");
        // The clock has not moved, so the first mail still waits for its 10 seconds.
        Assert.Equal(["Another export ready"], Subjects());

        await Until(() => { _clock.Advance(TimeSpan.FromSeconds(10)); return _relay.Backend.Delivered.Count == 2; }, "the retried first mail");
        Assert.Equal(["Another export ready", "Export ready"], Subjects());
        Assert.Equal(3, _relay.Backend.SenderChecks);
        Assert.Contains(_logs.AtLeast(LogLevel.Warning), e => e.Message.Contains("\"Export ready\"") && e.Message.Contains("trying again"));
    }

    [Fact]
    public async Task A_mail_refused_at_every_attempt_is_given_up_after_the_last_delay_and_logged()
    {
        await using var mailer = Mailer(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1));
        _relay.Backend.SenderRefusal = new SmtpReply(550, "5.7.1", "Relay refused");
        Assert.True(mailer.Enqueue(new NotificationMail("alice@example.com", "Export ready", "link")));

        await Until(() => { _clock.Advance(TimeSpan.FromSeconds(10)); return _logs.AtLeast(LogLevel.Error).Count == 1; }, "giving up");
        Assert.Equal(3, _relay.Backend.SenderChecks); // the first attempt and one per delay
        var gaveUp = Assert.Single(_logs.AtLeast(LogLevel.Error));
        Assert.Contains("Gave up sending \"Export ready\"", gaveUp.Message);
        Assert.Contains("3 attempts", gaveUp.Message);

        // Nothing more is tried however long the clock runs; the relay delivered nothing.
        _clock.Advance(TimeSpan.FromHours(1));
        _relay.Backend.SenderRefusal = null;
        Assert.True(mailer.Enqueue(new NotificationMail("bob@example.com", "Next", "after")));
        await Until(() => _relay.Backend.Delivered.Count == 1, "the next mail");
        Assert.Equal(["Next"], Subjects());
        Assert.Equal(4, _relay.Backend.SenderChecks);
    }

    [Fact]
    public void Without_a_relay_nothing_is_queued_and_the_caller_is_told()
    {
        var mailer = new NotificationMailer(Options.Create(new NotificationOptions()), _clock, LoggerFactory.Create(_ => { }).CreateLogger<NotificationMailer>());
        Assert.False(mailer.IsConfigured);
        Assert.False(mailer.Enqueue(new NotificationMail("alice@example.com", "Export ready", "link")));
    }

    private string?[] Subjects() => [.. _relay.Backend.Delivered.Select(d => MimeMessage.Load(new MemoryStream(d.Content)).Subject)];

    /// <summary>Polls (real time, 30 s at most) for what the mailer's background loop does.</summary>
    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(20);
        }
    }
}
