using Microsoft.Playwright;

[assembly: AssemblyFixture(typeof(Mailtest.Tests.Infrastructure.ChromiumBrowser))]

namespace Mailtest.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium driven by Playwright, launched once per test run on first use. Playwright's
/// own browser download is never used (no downloads here): the executable is /usr/bin/chromium,
/// or MAILTEST_CHROMIUM. Each test takes a fresh context (cookies, storage) of its own.
/// </summary>
public sealed class ChromiumBrowser : IAsyncDisposable
{
    private readonly SemaphoreSlim _launchLock = new(1, 1);
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task<IBrowserContext> NewContextAsync(BrowserNewContextOptions? options = null)
    {
        var browser = await EnsureLaunchedAsync();
        return await browser.NewContextAsync(options ?? new BrowserNewContextOptions { ViewportSize = new() { Width = 1400, Height = 900 } });
    }

    private async Task<IBrowser> EnsureLaunchedAsync()
    {
        if (_browser is not null) return _browser;
        await _launchLock.WaitAsync();
        try
        {
            if (_browser is not null) return _browser;
            var executable = Environment.GetEnvironmentVariable("MAILTEST_CHROMIUM") ?? "/usr/bin/chromium";
            if (!File.Exists(executable))
                throw new InvalidOperationException($"Chromium was not found at {executable}. Install Debian's chromium package (.ci/run does) or set MAILTEST_CHROMIUM.");
            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = executable,
                Headless = true,
                Args =
                [
                    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                ],
            });
            return _browser;
        }
        finally { _launchLock.Release(); }
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
    }
}
