using System.Net;
using System.Net.Sockets;

namespace Mailtest.Web.Inbox;

/// <summary>
/// Which addresses the image proxy may connect to: public unicast only. A mail must not be able to make
/// our server reach its own loopback, the private network it sits in, link-local (cloud metadata at
/// 169.254.169.254), multicast or unspecified addresses — in any of their IPv6 spellings.
/// </summary>
public static class RemoteAddressPolicy
{
    private static readonly (IPAddress Network, int Prefix)[] ForbiddenV4 =
    [
        (IPAddress.Parse("0.0.0.0"), 8),        // "this network", unspecified
        (IPAddress.Parse("10.0.0.0"), 8),       // private
        (IPAddress.Parse("100.64.0.0"), 10),    // carrier-grade NAT
        (IPAddress.Parse("127.0.0.0"), 8),      // loopback
        (IPAddress.Parse("169.254.0.0"), 16),   // link-local, cloud metadata
        (IPAddress.Parse("172.16.0.0"), 12),    // private
        (IPAddress.Parse("192.0.0.0"), 24),     // IETF protocol assignments
        (IPAddress.Parse("192.0.2.0"), 24),     // documentation
        (IPAddress.Parse("192.168.0.0"), 16),   // private
        (IPAddress.Parse("198.18.0.0"), 15),    // benchmarking
        (IPAddress.Parse("198.51.100.0"), 24),  // documentation
        (IPAddress.Parse("203.0.113.0"), 24),   // documentation
        (IPAddress.Parse("224.0.0.0"), 4),      // multicast
        (IPAddress.Parse("240.0.0.0"), 4),      // reserved, broadcast
    ];

    private static readonly (IPAddress Network, int Prefix)[] ForbiddenV6 =
    [
        (IPAddress.Parse("::"), 96),            // unspecified, loopback, IPv4-compatible
        (IPAddress.Parse("fc00::"), 7),         // unique local
        (IPAddress.Parse("fe80::"), 10),        // link-local
        (IPAddress.Parse("fec0::"), 10),        // site-local (deprecated)
        (IPAddress.Parse("ff00::"), 8),         // multicast
        (IPAddress.Parse("2001:db8::"), 32),    // documentation
        (IPAddress.Parse("100::"), 64),         // discard
    ];

    public static bool IsAllowed(IPAddress address) => !IsForbidden(address);

    /// <summary>
    /// An <see cref="SocketsHttpHandler.ConnectCallback"/> body for requests a mail or a user names:
    /// resolves the host once and connects to that very address (no second lookup an attacker's DNS
    /// could answer differently), only when every address it resolves to passes <paramref name="isAllowed"/>
    /// — all or nothing, so a name that also resolves to a private address is refused.
    /// </summary>
    /// <param name="refused">The exception to throw for a refused host, given "host:port".</param>
    public static async ValueTask<Stream> ConnectVettedAsync(DnsEndPoint target, Func<IPEndPoint, bool> isAllowed,
        Func<string, Exception> refused, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(target.Host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(target.Host, cancellationToken);
        var endpoints = addresses.Select(a => new IPEndPoint(a, target.Port)).ToList();
        if (endpoints.Count == 0 || !endpoints.All(isAllowed))
            throw refused($"{target.Host}:{target.Port}");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoints[0], cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static bool IsForbidden(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.IsIPv4MappedToIPv6) return IsForbidden(address.MapToIPv4());
            if (EmbeddedIPv4(address) is { } embedded && IsForbidden(embedded)) return true;
            return ForbiddenV6.Any(n => InNetwork(address, n.Network, n.Prefix));
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
            return ForbiddenV4.Any(n => InNetwork(address, n.Network, n.Prefix));
        return true;
    }

    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that the packet really goes to.
    private static IPAddress? EmbeddedIPv4(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        if (InNetwork(address, IPAddress.Parse("64:ff9b::"), 96)) return new IPAddress(bytes[12..16]);
        if (bytes[0] == 0x20 && bytes[1] == 0x02) return new IPAddress(bytes[2..6]);
        return null;
    }

    private static bool InNetwork(IPAddress address, IPAddress network, int prefix)
    {
        if (address.AddressFamily != network.AddressFamily) return false;
        var a = address.GetAddressBytes();
        var n = network.GetAddressBytes();
        var fullBytes = prefix / 8;
        for (var i = 0; i < fullBytes; i++)
            if (a[i] != n[i]) return false;
        var remainingBits = prefix % 8;
        if (remainingBits == 0) return true;
        var mask = (byte)(0xFF << (8 - remainingBits));
        return (a[fullBytes] & mask) == (n[fullBytes] & mask);
    }
}
