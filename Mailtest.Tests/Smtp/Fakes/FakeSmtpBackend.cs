using System.Collections.Concurrent;
using Mailtest.Smtp;

namespace Mailtest.Tests.Smtp.Fakes;

/// <summary>A backend that knows a few logins, can be told to refuse, and records what it was given.</summary>
public sealed class FakeSmtpBackend : ISmtpBackend
{
    private readonly ConcurrentDictionary<string, (string Password, long MaxMessageBytes)> _logins = new();
    private int _queued;
    private int _senderChecks;

    /// <summary>How many MAIL FROM commands reached the backend (refused or not).</summary>
    public int SenderChecks => Volatile.Read(ref _senderChecks);

    public ConcurrentQueue<DeliveredMessage> Delivered { get; } = new();
    /// <summary>Where each delivered message was spooled, as it was delivered: its file, or null when held in memory.</summary>
    public ConcurrentQueue<string?> SpoolFiles { get; } = new();
    public ConcurrentQueue<(string Username, string Password)> LoginAttempts { get; } = new();
    public SmtpReply? ConnectionRefusal { get; set; }
    public SmtpReply? SenderRefusal { get; set; }
    public SmtpReply? LoginRefusal { get; set; }
    public Exception? DeliveryFailure { get; set; }
    /// <summary>While set and not completed, logins wait (as a slow database would).</summary>
    public TaskCompletionSource? HoldLogins { get; set; }

    public FakeSmtpBackend WithLogin(string username, string password, long maxMessageBytes = 10 * 1024 * 1024)
    {
        _logins[username] = (password, maxMessageBytes);
        return this;
    }

    public ValueTask<SmtpReply?> CheckConnectionAsync(SmtpPeer peer, CancellationToken cancellationToken) => ValueTask.FromResult(ConnectionRefusal);

    public async ValueTask<SmtpLoginResult> AuthenticateAsync(string username, string password, SmtpPeer peer, CancellationToken cancellationToken)
    {
        LoginAttempts.Enqueue((username, password));
        if (HoldLogins is { } hold)
            await hold.Task.WaitAsync(cancellationToken);
        if (LoginRefusal is { } refusal)
            return SmtpLoginResult.Refused(refusal);
        if (_logins.TryGetValue(username, out var login) && login.Password == password)
            return SmtpLoginResult.Accepted(new SmtpMailbox(username, Guid.Empty, Guid.Empty), login.MaxMessageBytes);
        return SmtpLoginResult.Refused(new SmtpReply(535, "5.7.8", "Authentication failed"));
    }

    public ValueTask<SmtpReply?> CheckSenderAsync(SmtpMailbox mailbox, long? declaredSize, CancellationToken cancellationToken)
    {
        var refusal = SenderRefusal;
        Interlocked.Increment(ref _senderChecks);
        return ValueTask.FromResult(refusal);
    }

    /// <summary>Reads the spooled message as the real backend would (it is released after this returns).</summary>
    public async ValueTask<SmtpReply> DeliverAsync(SmtpTransaction transaction, CancellationToken cancellationToken)
    {
        if (DeliveryFailure is { } failure)
            throw failure;
        await using var read = transaction.Message.OpenRead();
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy, cancellationToken);
        var content = copy.ToArray();
        SpoolFiles.Enqueue(transaction.Message.FilePath);
        var id = Interlocked.Increment(ref _queued);
        Delivered.Enqueue(new DeliveredMessage(transaction, content));
        return new SmtpReply(250, "2.0.0", $"Ok: queued as <{id}>");
    }
}

public sealed record DeliveredMessage(SmtpTransaction Transaction, byte[] Content)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Content);
}
