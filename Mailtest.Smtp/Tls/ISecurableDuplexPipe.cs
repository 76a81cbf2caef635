using System.IO.Pipelines;
using System.Security.Cryptography.X509Certificates;

namespace Mailtest.Smtp.Tls;

/// <summary>A connection's pipes that can switch to TLS in place: after <see cref="UpgradeAsync"/>,
/// <see cref="IDuplexPipe.Input"/> and <see cref="IDuplexPipe.Output"/> carry plaintext over TLS.</summary>
internal interface ISecurableDuplexPipe : IDuplexPipe, IAsyncDisposable
{
    bool IsSecure { get; }

    /// <summary>Runs the server handshake. The caller must have consumed every plaintext byte first.</summary>
    Task UpgradeAsync(X509Certificate2 certificate, CancellationToken cancellationToken);
}
