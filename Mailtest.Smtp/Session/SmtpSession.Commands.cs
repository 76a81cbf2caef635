using Mailtest.Smtp.Protocol;
using Mailtest.Smtp.Spool;
using Microsoft.Extensions.Logging;

namespace Mailtest.Smtp.Session;

// The handlers the state table points at. They run only in the states the table allows and after
// its guard passed; each queues exactly one reply (AUTH also its 334 challenges).
internal sealed partial class SmtpSession
{
    private const int ENOSPC = 28;
    private const int EDQUOT = 122;

    private string? _heloName;
    private SmtpMailbox? _mailbox;
    private long _maxMessageBytes;
    private SmtpAddress? _reversePath;
    private bool _smtpUtf8;
    private readonly List<string> _recipients = [];

    private long MessageLimit => _mailbox is null ? _options.MaxMessageBytes : _maxMessageBytes;

    public ValueTask<CommandResult> HelloAsync(HeloCommand command)
    {
        EndTransaction(); // EHLO implies RSET (RFC 5321 §4.1.4)
        _heloName = command.Domain;
        if (command.Verb == SmtpVerb.Helo)
        {
            ReplyLines(250, [$"{_options.ServerName} Hello {command.Domain}"]);
            return ValueTask.FromResult(CommandResult.Succeeded);
        }
        List<string> lines =
        [
            $"{_options.ServerName} Hello {command.Domain}",
            "PIPELINING",
            $"SIZE {MessageLimit}",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
        ];
        if (!_connection.IsSecure)
            lines.Add("STARTTLS");
        if (AuthOffered && _mailbox is null)
            lines.Add("AUTH PLAIN LOGIN"); // only these two: smtplib tries CRAM-MD5 first when offered
        ReplyLines(250, lines);
        return ValueTask.FromResult(CommandResult.Succeeded);
    }

    public async ValueTask<CommandResult> StartTlsAsync()
    {
        try
        {
            _ = _services.Certificates.Certificate;
        }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            _services.Logger.LogError(e, "The SMTP certificate could not be loaded; STARTTLS refused");
            Reply(SmtpReplies.TlsNotAvailable);
            return CommandResult.Refused;
        }
        var dropped = _connection.DropBufferedInput();
        if (dropped > 0)
            _services.Logger.LogWarning("Dropped {Bytes} plaintext bytes sent after STARTTLS by {Remote}", dropped, _remote);
        Reply(SmtpReplies.ReadyForTls);
        await _connection.FlushAsync(); // the 220 must go out in plaintext before the handshake
        if (!await TryHandshakeAsync())
            return CommandResult.Close;
        // RFC 3207 §4.2: forget everything learnt before TLS; the client must EHLO again.
        EndTransaction();
        _heloName = null;
        _mailbox = null;
        return CommandResult.Succeeded;
    }

    private async ValueTask<bool> TryHandshakeAsync()
    {
        using var deadline = new CancellationTokenSource(_options.TlsHandshakeTimeout, _services.Time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Lifetime, deadline.Token);
        try
        {
            await _connection.Pipe.UpgradeAsync(_services.Certificates.Certificate, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            _services.Logger.LogInformation("TLS handshake with {Remote} failed: {Reason}", _remote, e.Message);
            return false;
        }
    }

    public async ValueTask<CommandResult> MailAsync(MailCommand command)
    {
        if (command.ReversePath.IsInternational && !command.SmtpUtf8)
        {
            Reply(SmtpReplies.InternationalAddressNeedsSmtpUtf8);
            return CommandResult.Refused;
        }
        if (command.DeclaredSize > MessageLimit)
        {
            Reply(SmtpReplies.MessageTooBig);
            return CommandResult.Refused;
        }
        SmtpReply? refusal;
        try
        {
            refusal = await _backend.CheckSenderAsync(_mailbox!, command.DeclaredSize, Lifetime);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _services.BackendIncident.Failed(e, "checking a sender threw");
            refusal = SmtpReplies.LocalError;
        }
        if (refusal is not null)
        {
            Reply(refusal.Value);
            return CommandResult.Refused;
        }
        _reversePath = command.ReversePath;
        _smtpUtf8 = command.SmtpUtf8;
        Reply(SmtpReplies.SenderOk);
        return CommandResult.Succeeded;
    }

    public async ValueTask<CommandResult> RcptAsync(RcptCommand command)
    {
        if (command.ForwardPath.IsInternational && !_smtpUtf8)
        {
            Reply(SmtpReplies.InternationalAddressNeedsSmtpUtf8);
            return CommandResult.Refused;
        }
        if (_recipients.Count >= _options.MaxRecipients)
        {
            Reply(SmtpReplies.TooManyRecipients);
            return CommandResult.Refused;
        }
        SmtpReply? refusal;
        try
        {
            refusal = await _backend.CheckRecipientAsync(_mailbox!, command.ForwardPath.Value, Lifetime);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _services.BackendIncident.Failed(e, "checking a recipient threw");
            refusal = SmtpReplies.LocalError;
        }
        if (refusal is not null)
        {
            Reply(refusal.Value);
            return CommandResult.Refused;
        }
        _recipients.Add(command.ForwardPath.Value);
        Reply(SmtpReplies.RecipientOk);
        return CommandResult.Succeeded;
    }

    public async ValueTask<CommandResult> DataAsync()
    {
        DataOutcome outcome;
        await using var spool = _services.Spool.Begin();
        Reply(SmtpReplies.StartMailInput);
        var receiver = new MessageDataReceiver(
            () => _connection.ReadWithinAsync(_options.DataTimeout, SmtpReplies.DataTimeout), _connection.Pipe.Input, MessageLimit);
        outcome = await receiver.ReceiveAsync(spool);
        if (outcome.ConnectionClosed)
            return CommandResult.Close;
        if (outcome.TooLarge)
            Reply(SmtpReplies.MessageTooBig);
        else if (outcome.SpoolFailure is { } failure)
            Reply(SpoolFailed(failure));
        else
        {
            if (spool.Spilled)
                _services.SpoolIncident.Succeeded(); // only a file written proves the spool disk works again
            using var message = spool.Complete();
            Reply(await DeliverAsync(message));
        }
        EndTransaction();
        return CommandResult.Succeeded; // the transaction is over either way
    }

    /// <summary>The spool could not be written: a temporary failure the client retries, logged once per incident.</summary>
    private SmtpReply SpoolFailed(Exception error)
    {
        var diskFull = error.HResult is ENOSPC or EDQUOT;
        _services.SpoolIncident.Failed(error, diskFull
            ? $"the spool disk ({_services.Spool.Directory}) is full; messages are answered 451 until there is room"
            : $"writing to the spool ({_services.Spool.Directory}) failed; messages are answered 451");
        return diskFull ? SmtpReplies.SpoolDiskFull : SmtpReplies.SpoolWriteFailed;
    }

    /// <summary>Hands the spooled message to the backend, which answers only once it is durable.</summary>
    private async ValueTask<SmtpReply> DeliverAsync(SpooledMessage message)
    {
        var transaction = new SmtpTransaction(_mailbox!, _reversePath!.Value.Value, [.. _recipients], message, Peer);
        try
        {
            // Not bound to the session's lifetime: a message being committed is finished, shutdown or not.
            var reply = await _backend.DeliverAsync(transaction, CancellationToken.None);
            _services.BackendIncident.Succeeded(); // a stored message ends an outage (cached answers may succeed during one)
            return reply;
        }
        catch (Exception e)
        {
            _services.BackendIncident.Failed(e, "storing a message threw");
            return SmtpReplies.DeliveryFailed;
        }
    }

    public ValueTask<CommandResult> ResetAsync()
    {
        EndTransaction();
        Reply(SmtpReplies.Reset);
        return ValueTask.FromResult(CommandResult.Succeeded);
    }

    public ValueTask<CommandResult> NoopAsync()
    {
        Reply(SmtpReplies.Ok);
        return ValueTask.FromResult(CommandResult.Succeeded);
    }

    public ValueTask<CommandResult> VerifyAsync(VrfyCommand command)
    {
        Reply(SmtpReplies.CannotVerify);
        return ValueTask.FromResult(CommandResult.Succeeded);
    }

    public ValueTask<CommandResult> QuitAsync()
    {
        Reply(SmtpReplies.Bye);
        return ValueTask.FromResult(CommandResult.Close);
    }

    private void EndTransaction()
    {
        _reversePath = null;
        _smtpUtf8 = false;
        _recipients.Clear();
    }
}
