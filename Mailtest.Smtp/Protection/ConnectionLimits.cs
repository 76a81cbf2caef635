using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Smtp.Protection;

/// <summary>Whether a new connection may be served.</summary>
internal enum Admission
{
    Admitted,
    /// <summary>Over <see cref="SmtpOptions.MaxConnectionsPerIp"/> for this address.</summary>
    TooManyFromAddress,
    /// <summary>Over <see cref="SmtpOptions.MaxConnections"/> across all addresses.</summary>
    ServerFull,
}

/// <summary>
/// Counts open SMTP connections, per remote IP and in total, and refuses past
/// <see cref="SmtpOptions.MaxConnectionsPerIp"/> or <see cref="SmtpOptions.MaxConnections"/>.
/// Reaching the global cap is logged once per incident (it means slow or many clients hold the server).
/// </summary>
internal sealed class ConnectionLimits
{
    private readonly IOptions<SmtpOptions> _options;
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
    private readonly FailureIncident _full;
    private int _total;

    public ConnectionLimits(IOptions<SmtpOptions> options, ILogger<ConnectionLimits> logger)
    {
        _options = options;
        _full = new FailureIncident(logger, "SMTP: Accepting connections");
    }

    public Admission TryAcquire(IPAddress address)
    {
        var settings = _options.Value;
        if (Interlocked.Increment(ref _total) > settings.MaxConnections)
        {
            Interlocked.Decrement(ref _total);
            _full.Failed(null, $"the global cap of {settings.MaxConnections} open connections (Mailtest:Smtp:MaxConnections) is reached; new connections get 421");
            return Admission.ServerFull;
        }
        if (!TryAcquireForAddress(address, settings.MaxConnectionsPerIp))
        {
            Interlocked.Decrement(ref _total);
            return Admission.TooManyFromAddress;
        }
        _full.Succeeded();
        return Admission.Admitted;
    }

    public void Release(IPAddress address)
    {
        Interlocked.Decrement(ref _total);
        while (_perAddress.TryGetValue(address, out var current))
        {
            if (current <= 1 ? _perAddress.TryRemove(new KeyValuePair<IPAddress, int>(address, current)) : _perAddress.TryUpdate(address, current - 1, current))
                return;
        }
    }

    private bool TryAcquireForAddress(IPAddress address, int limit)
    {
        while (true)
        {
            if (_perAddress.TryGetValue(address, out var current))
            {
                if (current >= limit)
                    return false;
                if (_perAddress.TryUpdate(address, current + 1, current))
                    return true;
            }
            else if (_perAddress.TryAdd(address, 1))
                return true;
        }
    }
}
