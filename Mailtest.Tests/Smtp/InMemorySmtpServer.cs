using System.IO.Pipelines;
using System.Net;
using Mailtest.Smtp;
using Mailtest.Smtp.Session;
using Mailtest.Smtp.Tls;
using Mailtest.Tests.Smtp.Fakes;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Mailtest.Tests.Smtp;

/// <summary>
/// The engine's real connection handler (DI scope per connection, bans, limits, spool, TLS) driven
/// over in-memory pipes instead of sockets, with a manual clock and a fake backend.
/// </summary>
public sealed class InMemorySmtpServer : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly SmtpConnectionHandler _handler;

    public InMemorySmtpServer(Action<SmtpOptions>? configure = null, IDictionary<string, string?>? settings = null)
    {
        DataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-smtp-{Guid.NewGuid():N}");
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Mailtest:Data:Directory"] = DataDirectory })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddSingleton<TimeProvider>(Clock)
            .AddSingleton<IHostApplicationLifetime>(Lifetime)
            .AddScoped<ISmtpBackend>(_ => Backend);
        services.AddSmtpEngine();
        if (configure is not null)
            services.Configure(configure);
        _services = services.BuildServiceProvider();
        _handler = _services.GetRequiredService<SmtpConnectionHandler>();
    }

    public FakeSmtpBackend Backend { get; } = new FakeSmtpBackend().WithLogin("alice", "correct horse");
    public ManualTimeProvider Clock { get; } = new();
    public FakeApplicationLifetime Lifetime { get; } = new();
    public string DataDirectory { get; }
    public SmtpOptions Options => _services.GetRequiredService<IOptions<SmtpOptions>>().Value;
    public string SpoolDirectory => Path.Combine(DataDirectory, "spool");

    /// <summary>Opens a connection from <paramref name="remoteAddress"/> and returns its client end (greeting unread).</summary>
    public SmtpTestClient Connect(string remoteAddress = "192.0.2.10", bool implicitTls = false)
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var serverEnd = new DuplexPipe(toServer.Reader, toClient.Writer);
        var clientEnd = new DuplexPipe(toClient.Reader, toServer.Writer);
        var connection = new DefaultConnectionContext(Guid.NewGuid().ToString("N"), serverEnd, clientEnd)
        {
            RemoteEndPoint = new IPEndPoint(IPAddress.Parse(remoteAddress), 40000),
        };
        if (implicitTls)
            connection.Items[SmtpConnectionHandler.ImplicitTlsItem] = true;
        var serverTask = Task.Run(() => _handler.OnConnectedAsync(connection));
        return new SmtpTestClient(new ClientStream(clientEnd), serverTask);
    }

    /// <summary>Connects, reads the greeting, EHLOs and logs in as alice (plaintext AUTH must be allowed).</summary>
    public async Task<SmtpTestClient> ConnectAuthenticatedAsync(string remoteAddress = "192.0.2.10")
    {
        var client = Connect(remoteAddress);
        Assert.StartsWith("220 ", await client.ReadReplyAsync());
        Assert.StartsWith("250", await client.CommandAsync("EHLO client.example"));
        await client.AuthenticatePlainAsync("alice", "correct horse");
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        Lifetime.Dispose();
        await _services.DisposeAsync();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    /// <summary>The client's end as a stream; disposing it closes the connection like a socket would.</summary>
    private sealed class ClientStream(IDuplexPipe pipe) : Stream
    {
        private readonly DuplexPipeStream _inner = new(pipe);
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _inner.WriteAsync(buffer, cancellationToken);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.WriteAsync(buffer, offset, count, cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);
        public override void Flush() => _inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                pipe.Output.Complete();
                pipe.Input.Complete();
            }
            base.Dispose(disposing);
        }
    }
}
