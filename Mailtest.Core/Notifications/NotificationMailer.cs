using System.Threading.Channels;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Mailtest.Core.Notifications;

public sealed record NotificationMail(string To, string Subject, string Text);

/// <summary>
/// Mailtest's own outgoing email, through the relay in <see cref="NotificationOptions"/>, with MailKit.
/// <see cref="Enqueue"/> returns at once; one background loop sends, retrying a failed mail after each
/// of <see cref="NotificationOptions.RetryDelays"/> without holding up the ones behind it.
/// </summary>
public sealed class NotificationMailer : IAsyncDisposable
{
    private readonly NotificationOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<NotificationMailer> _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lazy<Task> _loop;

    public NotificationMailer(IOptions<NotificationOptions> options, TimeProvider clock, ILogger<NotificationMailer> logger)
    {
        _options = options.Value;
        _clock = clock;
        _logger = logger;
        _loop = new Lazy<Task>(() => Task.Run(SendLoopAsync), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public bool IsConfigured => _options.IsConfigured;

    /// <summary>Queues the mail; false when no relay is configured (the caller's page shows the link instead).</summary>
    public bool Enqueue(NotificationMail mail)
    {
        if (!IsConfigured) return false;
        if (!_queue.Writer.TryWrite(new Pending(mail, 0))) return false;
        _ = _loop.Value;
        return true;
    }

    private async Task SendLoopAsync()
    {
        await foreach (var pending in _queue.Reader.ReadAllAsync(_stopping.Token))
        {
            try
            {
                await SendAsync(pending.Mail, _stopping.Token);
            }
            catch (Exception e) when (!_stopping.IsCancellationRequested)
            {
                if (pending.Attempt >= _options.RetryDelays.Length)
                {
                    _logger.LogError(e, "Gave up sending \"{Subject}\" to {To} after {Attempts} attempts.", pending.Mail.Subject, pending.Mail.To, pending.Attempt + 1);
                    continue;
                }
                var delay = _options.RetryDelays[pending.Attempt];
                _logger.LogWarning(e, "Sending \"{Subject}\" to {To} failed; trying again in {Delay}.", pending.Mail.Subject, pending.Mail.To, delay);
                _ = RetryLaterAsync(pending with { Attempt = pending.Attempt + 1 }, delay);
            }
        }
    }

    private async Task RetryLaterAsync(Pending pending, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _clock, _stopping.Token);
            _queue.Writer.TryWrite(pending);
        }
        catch (OperationCanceledException) { }
    }

    private async Task SendAsync(NotificationMail mail, CancellationToken cancellationToken)
    {
        using var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(_options.From));
        message.To.Add(MailboxAddress.Parse(mail.To));
        message.Subject = mail.Subject;
        message.Body = new TextPart("plain") { Text = mail.Text };

        using var client = new SmtpClient { Timeout = 30_000 };
        if (_options.AcceptAnyCertificate) client.ServerCertificateValidationCallback = (_, _, _, _) => true;
        var tls = Enum.TryParse<SecureSocketOptions>(_options.Tls, ignoreCase: true, out var parsed) ? parsed : SecureSocketOptions.StartTls;
        await client.ConnectAsync(_options.Host!, _options.Port, tls, cancellationToken);
        if (!string.IsNullOrEmpty(_options.User))
            await client.AuthenticateAsync(_options.User, _options.Password ?? "", cancellationToken);
        await client.SendAsync(message, cancellationToken);
        await client.DisconnectAsync(quit: true, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        if (_loop.IsValueCreated)
            try { await _loop.Value; } catch (OperationCanceledException) { }
        _stopping.Dispose();
    }

    private sealed record Pending(NotificationMail Mail, int Attempt);
}
