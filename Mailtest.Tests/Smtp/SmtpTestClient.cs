using System.Net.Security;
using System.Text;

namespace Mailtest.Tests.Smtp;

/// <summary>A raw SMTP client over a stream: writes exactly the bytes a test gives it and reads replies.</summary>
public sealed class SmtpTestClient(Stream stream, Task? serverTask = null) : IAsyncDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(15);
    private Stream _stream = stream;
    private readonly List<byte> _pending = [];
    private readonly byte[] _chunk = new byte[64 * 1024];

    /// <summary>The server side of an in-memory connection; completes when the session ends.</summary>
    public Task ServerTask { get; } = serverTask ?? Task.CompletedTask;

    /// <summary>The certificate the server presented in <see cref="UpgradeToTlsAsync"/>.</summary>
    public string? ServerCertificateThumbprint { get; private set; }

    public async Task SendAsync(string text) => await SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>One whole reply: all its lines (e.g. "250-PIPELINING" ... "250 ..."), joined by \n.</summary>
    public async Task<string> ReadReplyAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync() ?? throw new EndOfStreamException($"Connection closed after: {string.Join("\n", lines)}");
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
                return string.Join("\n", lines);
        }
    }

    /// <summary>Sends a command line and returns the reply.</summary>
    public async Task<string> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReadReplyAsync();
    }

    /// <summary>True when the server closed the connection (nothing more to read).</summary>
    public async Task<bool> IsClosedAsync() => await ReadLineAsync() is null;

    public async Task AuthenticatePlainAsync(string user, string password)
    {
        var reply = await CommandAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}")));
        Assert.StartsWith("235 ", reply);
    }

    /// <summary>Runs the client side of a TLS handshake over the same connection, accepting any certificate.</summary>
    public async Task UpgradeToTlsAsync()
    {
        Assert.Empty(_pending);
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false, (_, certificate, _, _) =>
        {
            ServerCertificateThumbprint = certificate?.GetCertHashString();
            return true; // test servers use self-signed certificates
        });
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, timeout.Token);
        _stream = tls;
    }

    private async Task<string?> ReadLineAsync()
    {
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        while (true)
        {
            var lf = _pending.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = Encoding.UTF8.GetString(_pending.GetRange(0, lf).ToArray()).TrimEnd('\r');
                _pending.RemoveRange(0, lf + 1);
                return line;
            }
            int read;
            try
            {
                read = await _stream.ReadAsync(_chunk, timeout.Token);
            }
            catch (IOException)
            {
                read = 0;
            }
            if (read == 0)
                return _pending.Count == 0 ? null : throw new EndOfStreamException("Connection closed mid-line.");
            _pending.AddRange(_chunk.AsSpan(0, read));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        try
        {
            await ServerTask.WaitAsync(ReplyTimeout);
        }
        catch (TimeoutException)
        {
            // Reported by the test that cares; disposal must not hide the test's own failure.
        }
    }
}
