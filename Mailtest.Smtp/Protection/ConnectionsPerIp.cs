using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;

namespace Mailtest.Smtp.Protection;

/// <summary>Counts open SMTP connections per remote IP and refuses more than <see cref="SmtpOptions.MaxConnectionsPerIp"/>.</summary>
internal sealed class ConnectionsPerIp(IOptions<SmtpOptions> options)
{
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();

    public bool TryAcquire(IPAddress address)
    {
        var limit = options.Value.MaxConnectionsPerIp;
        while (true)
        {
            if (_open.TryGetValue(address, out var current))
            {
                if (current >= limit)
                    return false;
                if (_open.TryUpdate(address, current + 1, current))
                    return true;
            }
            else if (_open.TryAdd(address, 1))
                return true;
        }
    }

    public void Release(IPAddress address)
    {
        while (_open.TryGetValue(address, out var current))
        {
            if (current <= 1 ? _open.TryRemove(new KeyValuePair<IPAddress, int>(address, current)) : _open.TryUpdate(address, current - 1, current))
                return;
        }
    }
}
