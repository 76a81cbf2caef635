using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Mailtest.Bench.Ingest;

/// <summary>
/// The ceiling for SMTP ingest: a bare server that speaks just enough SMTP for MailKit over STARTTLS
/// + AUTH (PLAIN or LOGIN, any credentials), reads DATA to the final dot and stores nothing. Replies to
/// pipelined commands go out in one write. It advertises SIZE as Mailtest does: MailKit then formats each
/// message once more to learn its size, client work that talking to Mailtest costs too (without it the
/// ceiling ran ~20 % faster on the client's saved CPU, not on anything a server does). Run as its own process (<c>Mailtest.Bench sink --port N</c>)
/// so its CPU is measured apart from the client's.
/// </summary>
public static class SmtpSink
{
    public static async Task RunAsync(int port, CancellationToken cancellationToken)
    {
        using var certificate = SelfSigned();
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start(backlog: 512);
        Console.WriteLine($"sink listening on {port}");
        while (!cancellationToken.IsCancellationRequested)
        {
            var client = await listener.AcceptTcpClientAsync(cancellationToken);
            _ = Task.Run(async () =>
            {
                try
                {
                    using (client)
                        await new Session(client, certificate).RunAsync();
                }
                catch (Exception e) when (e is IOException or SocketException or System.Security.Authentication.AuthenticationException)
                {
                    // The client went away; nothing to keep.
                }
            }, cancellationToken);
        }
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
    }

    private sealed class Session(TcpClient client, X509Certificate2 certificate)
    {
        private Stream _stream = client.GetStream();
        private readonly byte[] _buffer = new byte[64 * 1024];
        private readonly MemoryStream _replies = new();
        private int _start;
        private int _end;
        private bool _inData;
        private int _loginStep; // AUTH LOGIN: 1 = user name expected, 2 = password expected

        public async Task RunAsync()
        {
            client.NoDelay = true;
            Reply("220 sink ESMTP ready");
            while (true)
            {
                var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (lf < 0)
                {
                    await FlushAsync(); // nothing more pipelined: the client waits for these replies
                    if (_start > 0)
                    {
                        Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                        _end -= _start;
                        _start = 0;
                    }
                    if (_end == _buffer.Length)
                        _start = _end = 0; // a line longer than the buffer: drop what we have of it
                    var read = await _stream.ReadAsync(_buffer.AsMemory(_end));
                    if (read == 0)
                        return;
                    _end += read;
                    continue;
                }
                var line = _buffer.AsSpan(_start, lf - _start).TrimEnd((byte)'\r');
                _start = lf + 1;
                if (_inData)
                {
                    if (line.Length == 1 && line[0] == (byte)'.')
                    {
                        _inData = false;
                        Reply("250 2.0.0 Ok: discarded");
                    }
                    continue;
                }
                if (!await CommandAsync(Encoding.ASCII.GetString(line)))
                    return;
            }
        }

        private async Task<bool> CommandAsync(string line)
        {
            if (_loginStep > 0)
            {
                Reply(_loginStep++ == 1 ? "334 UGFzc3dvcmQ6" : "235 2.7.0 Authentication successful");
                if (_loginStep > 2)
                    _loginStep = 0;
                return true;
            }
            var verb = line.Length >= 4 ? line[..4].ToUpperInvariant() : line.ToUpperInvariant();
            switch (verb)
            {
                case "EHLO":
                    Reply(_stream is SslStream
                        ? "250-sink\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN"
                        : "250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 STARTTLS");
                    return true;
                case "STAR":
                    Reply("220 2.0.0 Ready to start TLS");
                    await FlushAsync();
                    var tls = new SslStream(_stream);
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate });
                    _stream = tls;
                    _start = _end = 0;
                    return true;
                case "AUTH":
                    var parts = line.Split(' ');
                    if (parts.Length > 1 && parts[1].Equals("LOGIN", StringComparison.OrdinalIgnoreCase))
                    {
                        _loginStep = parts.Length > 2 ? 2 : 1;
                        Reply(parts.Length > 2 ? "334 UGFzc3dvcmQ6" : "334 VXNlcm5hbWU6");
                    }
                    else if (parts.Length > 2)
                        Reply("235 2.7.0 Authentication successful");
                    else
                    {
                        _loginStep = 2; // PLAIN without an initial response: one answer, then success
                        Reply("334 ");
                    }
                    return true;
                case "DATA":
                    _inData = true;
                    Reply("354 End data with <CR><LF>.<CR><LF>");
                    return true;
                case "QUIT":
                    Reply("221 2.0.0 Bye");
                    await FlushAsync();
                    return false;
                default:
                    Reply("250 2.0.0 Ok");
                    return true;
            }
        }

        private void Reply(string text)
        {
            _replies.Write(Encoding.ASCII.GetBytes(text));
            _replies.Write("\r\n"u8);
        }

        private async Task FlushAsync()
        {
            if (_replies.Length == 0)
                return;
            await _stream.WriteAsync(_replies.GetBuffer().AsMemory(0, (int)_replies.Length));
            await _stream.FlushAsync();
            _replies.SetLength(0);
        }
    }
}
