using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Mailtest.Smtp.Tls;

/// <summary>The connection's transport, swapped for an <see cref="SslStream"/>'s pipes on upgrade.</summary>
internal sealed class SecurableDuplexPipe(IDuplexPipe transport) : ISecurableDuplexPipe
{
    private const int TlsRecordBytes = 16 * 1024;
    private SslStream? _tls;

    public PipeReader Input { get; private set; } = transport.Input;
    public PipeWriter Output { get; private set; } = transport.Output;
    public bool IsSecure => _tls is not null;

    public async Task UpgradeAsync(X509Certificate2 certificate, CancellationToken cancellationToken)
    {
        if (_tls is not null)
            throw new InvalidOperationException("TLS is already active.");
        var tls = new SslStream(new DuplexPipeStream(transport), leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = certificate,
                ClientCertificateRequired = false,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            }, cancellationToken);
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }
        _tls = tls;
        // Reads large enough for a whole TLS record (16 KB of plaintext), so a message is decrypted
        // into few buffers instead of many 4 KB ones.
        Input = PipeReader.Create(tls, new StreamPipeReaderOptions(bufferSize: TlsRecordBytes, minimumReadSize: TlsRecordBytes, leaveOpen: true));
        Output = PipeWriter.Create(tls, new StreamPipeWriterOptions(leaveOpen: true));
    }

    public async ValueTask DisposeAsync()
    {
        if (_tls is null)
            return;
        await Input.CompleteAsync();
        try
        {
            await Output.CompleteAsync(); // flushes what is buffered: fails like the shutdown when the peer is gone
            await _tls.ShutdownAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The peer is gone already; nothing to say goodbye to.
        }
        await _tls.DisposeAsync();
    }
}
