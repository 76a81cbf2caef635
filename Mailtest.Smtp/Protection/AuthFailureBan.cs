using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;

namespace Mailtest.Smtp.Protection;

/// <summary>
/// Bans an IP address after <see cref="SmtpOptions.AuthFailuresBeforeBan"/> failed logins (535)
/// within <see cref="SmtpOptions.AuthFailureWindow"/>, for <see cref="SmtpOptions.BanDuration"/>.
/// In memory, per node: a restart forgives, which is fine for a 15-minute brake on guessing.
/// </summary>
internal sealed class AuthFailureBan(IOptions<SmtpOptions> options, TimeProvider time)
{
    private const int PruneThreshold = 10_000;
    private readonly ConcurrentDictionary<IPAddress, Record> _records = new();

    public bool IsBanned(IPAddress address)
    {
        if (!_records.TryGetValue(address, out var record))
            return false;
        lock (record)
            return record.BannedUntil > time.GetUtcNow();
    }

    /// <summary>Counts a failed login; true when this failure bans the address.</summary>
    public bool RecordFailure(IPAddress address)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        if (_records.Count > PruneThreshold)
            Prune(now, settings.AuthFailureWindow);
        var record = _records.GetOrAdd(address, _ => new Record());
        lock (record)
        {
            if (record.BannedUntil > now)
                return true;
            while (record.Failures.TryPeek(out var oldest) && now - oldest >= settings.AuthFailureWindow)
                record.Failures.Dequeue();
            record.Failures.Enqueue(now);
            if (record.Failures.Count < settings.AuthFailuresBeforeBan)
                return false;
            record.Failures.Clear();
            record.BannedUntil = now + settings.BanDuration;
            return true;
        }
    }

    private void Prune(DateTimeOffset now, TimeSpan window)
    {
        foreach (var (address, record) in _records)
        {
            lock (record)
            {
                var stale = record.BannedUntil <= now && (record.Failures.Count == 0 || now - record.Failures.Last() >= window);
                if (stale)
                    _records.TryRemove(address, out _);
            }
        }
    }

    private sealed class Record
    {
        public Queue<DateTimeOffset> Failures { get; } = new();
        public DateTimeOffset BannedUntil { get; set; } = DateTimeOffset.MinValue;
    }
}
