using Mailtest.Smtp.Protocol;
using Mailtest.Smtp.Spool;
using Microsoft.Extensions.Logging;

namespace Mailtest.Smtp.Session;

// The handlers the state table points at. They run only in the states the table allows and after
// its guard passed; each writes exactly one reply (AUTH also its 334 challenges).
internal sealed partial class SmtpSession
{
    private string? _heloName;
    private SmtpMailbox? _mailbox;
    private long _maxMessageBytes;
    private SmtpAddress? _reversePath;
    private bool _smtpUtf8;
    private readonly List<string> _recipients = [];
    private string? _spoolPath;

    private long MessageLimit => _mailbox is null ? _options.MaxMessageBytes : _maxMessageBytes;

    public async ValueTask<CommandResult> HelloAsync(HeloCommand command)
    {
        EndTransaction(); // EHLO implies RSET (RFC 5321 §4.1.4)
        _heloName = command.Domain;
        if (command.Verb == SmtpVerb.Helo)
        {
            await ReplyLinesAsync(250, [$"{_options.ServerName} Hello {command.Domain}"]);
            return CommandResult.Succeeded;
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
        if (!_pipe.IsSecure)
            lines.Add("STARTTLS");
        if (AuthOffered && _mailbox is null)
            lines.Add("AUTH PLAIN LOGIN"); // only these two: smtplib tries CRAM-MD5 first when offered
        await ReplyLinesAsync(250, lines);
        return CommandResult.Succeeded;
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
            await ReplyAsync(SmtpReplies.TlsNotAvailable);
            return CommandResult.Refused;
        }
        DropPlaintextAfterStartTls();
        await ReplyAsync(SmtpReplies.ReadyForTls);
        if (!await TryHandshakeAsync())
            return CommandResult.Close;
        // RFC 3207 §4.2: forget everything learnt before TLS; the client must EHLO again.
        EndTransaction();
        _heloName = null;
        _mailbox = null;
        return CommandResult.Succeeded;
    }

    /// <summary>
    /// Bytes that arrived behind STARTTLS were sent in plaintext and could be an attacker's injection
    /// (CVE-2011-0411): they must not be read as commands after the handshake.
    /// </summary>
    private void DropPlaintextAfterStartTls()
    {
        long dropped = 0;
        _skippingLongLine = false;
        while (_pipe.Input.TryRead(out var result))
        {
            dropped += result.Buffer.Length;
            _pipe.Input.AdvanceTo(result.Buffer.End);
            if (result.Buffer.IsEmpty || result.IsCompleted)
                break;
        }
        if (dropped > 0)
            _services.Logger.LogWarning("Dropped {Bytes} plaintext bytes sent after STARTTLS by {Remote}", dropped, _remote);
    }

    private async ValueTask<bool> TryHandshakeAsync()
    {
        using var deadline = new CancellationTokenSource(_options.TlsHandshakeTimeout, _services.Time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token, deadline.Token);
        try
        {
            await _pipe.UpgradeAsync(_services.Certificates.Certificate, timeout.Token);
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
            await ReplyAsync(SmtpReplies.InternationalAddressNeedsSmtpUtf8);
            return CommandResult.Refused;
        }
        if (command.DeclaredSize > MessageLimit)
        {
            await ReplyAsync(SmtpReplies.MessageTooBig);
            return CommandResult.Refused;
        }
        SmtpReply? refusal;
        try
        {
            refusal = await _backend.CheckSenderAsync(_mailbox!, command.DeclaredSize, _lifetime.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _services.Logger.LogError(e, "Checking the sender of {Remote} failed", _remote);
            refusal = SmtpReplies.LocalError;
        }
        if (refusal is not null)
        {
            await ReplyAsync(refusal.Value);
            return CommandResult.Refused;
        }
        _reversePath = command.ReversePath;
        _smtpUtf8 = command.SmtpUtf8;
        await ReplyAsync(SmtpReplies.SenderOk);
        return CommandResult.Succeeded;
    }

    public async ValueTask<CommandResult> RcptAsync(RcptCommand command)
    {
        if (command.ForwardPath.IsInternational && !_smtpUtf8)
        {
            await ReplyAsync(SmtpReplies.InternationalAddressNeedsSmtpUtf8);
            return CommandResult.Refused;
        }
        if (_recipients.Count >= _options.MaxRecipients)
        {
            await ReplyAsync(SmtpReplies.TooManyRecipients);
            return CommandResult.Refused;
        }
        SmtpReply? refusal;
        try
        {
            refusal = await _backend.CheckRecipientAsync(_mailbox!, command.ForwardPath.Value, _lifetime.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _services.Logger.LogError(e, "Checking a recipient of {Remote} failed", _remote);
            refusal = SmtpReplies.LocalError;
        }
        if (refusal is not null)
        {
            await ReplyAsync(refusal.Value);
            return CommandResult.Refused;
        }
        _recipients.Add(command.ForwardPath.Value);
        await ReplyAsync(SmtpReplies.RecipientOk);
        return CommandResult.Succeeded;
    }

    public async ValueTask<CommandResult> DataAsync()
    {
        FileStream spool;
        try
        {
            spool = _services.Spool.Create();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _services.Logger.LogError(e, "Could not create a spool file in {Directory}", _services.Spool.Directory);
            await ReplyAsync(SmtpReplies.LocalError);
            return CommandResult.Refused;
        }
        DataOutcome outcome;
        await using (spool)
        {
            _spoolPath = spool.Name;
            await ReplyAsync(SmtpReplies.StartMailInput);
            var receiver = new MessageDataReceiver(
                () => ReadAsync(_options.DataTimeout, SmtpReplies.DataTimeout), _pipe.Input, MessageLimit, _options.MaxLineLength);
            outcome = await receiver.ReceiveAsync(spool);
        }
        if (outcome.ConnectionClosed)
            return CommandResult.Close;
        if (outcome.TooLarge)
            await ReplyAsync(SmtpReplies.MessageTooBig);
        else if (outcome.LineTooLong)
            await ReplyAsync(SmtpReplies.LineTooLong);
        else
            await ReplyAsync(await DeliverAsync(outcome.Size));
        EndTransaction();
        return CommandResult.Succeeded; // the transaction is over either way
    }

    /// <summary>Hands the spooled message to the backend, which answers only once it is durable.</summary>
    private async ValueTask<SmtpReply> DeliverAsync(long size)
    {
        var transaction = new SmtpTransaction(_mailbox!, _reversePath!.Value.Value, [.. _recipients], _spoolPath!, size, Peer);
        try
        {
            // Not bound to the session's lifetime: a message being committed is finished, shutdown or not.
            return await _backend.DeliverAsync(transaction, CancellationToken.None);
        }
        catch (Exception e)
        {
            _services.Logger.LogError(e, "Delivering a message from {Remote} failed", _remote);
            return SmtpReplies.LocalError;
        }
    }

    public async ValueTask<CommandResult> ResetAsync()
    {
        EndTransaction();
        await ReplyAsync(SmtpReplies.Reset);
        return CommandResult.Succeeded;
    }

    public async ValueTask<CommandResult> NoopAsync()
    {
        await ReplyAsync(SmtpReplies.Ok);
        return CommandResult.Succeeded;
    }

    public async ValueTask<CommandResult> VerifyAsync(VrfyCommand command)
    {
        await ReplyAsync(SmtpReplies.CannotVerify);
        return CommandResult.Succeeded;
    }

    public async ValueTask<CommandResult> QuitAsync()
    {
        await ReplyAsync(SmtpReplies.Bye);
        return CommandResult.Close;
    }

    private void EndTransaction()
    {
        _reversePath = null;
        _smtpUtf8 = false;
        _recipients.Clear();
        DeleteSpoolFile();
    }

    private void DeleteSpoolFile()
    {
        if (_spoolPath is null)
            return;
        MessageSpool.Delete(_spoolPath);
        _spoolPath = null;
    }
}
