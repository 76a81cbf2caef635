namespace Mailtest.Tests.Infrastructure;

/// <summary>
/// Tests that each get a running host of their own with one <see cref="SandboxWorld"/> on it
/// (xunit makes a new instance per test); the host stops when the test ends.
/// </summary>
public abstract class SandboxTests : IAsyncLifetime
{
    protected MailtestTestHost Host { get; private set; } = null!;
    protected SandboxWorld World { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Host = await MailtestTestHost.StartAsync();
        World = await SandboxWorld.CreateAsync(Host);
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
