using System.Diagnostics;

namespace Mailtest.Tests.Mailpit;

/// <summary>
/// Runs a Node script from TestData/Mailpit in a scratch copy of that folder, after `npm ci` from its
/// committed package.json and package-lock.json (so a fresh CI machine installs the real npm client).
/// </summary>
public static class NodeScript
{
    private static readonly SemaphoreSlim InstallOnce = new(1, 1);
    private static string? _installed;

    public sealed record Outcome(int ExitCode, string Output, string Errors)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Errors}";
    }

    public static async Task<Outcome> RunAsync(string script, IDictionary<string, string> environment)
    {
        var folder = await InstalledFolderAsync();
        return await RunProcessAsync("node", [script], folder, environment, TimeSpan.FromMinutes(3));
    }

    private static async Task<string> InstalledFolderAsync()
    {
        await InstallOnce.WaitAsync();
        try
        {
            if (_installed is not null) return _installed;
            var source = Path.Combine(AppContext.BaseDirectory, "TestData", "Mailpit");
            var folder = Path.Combine(Path.GetTempPath(), $"mailtest-mailpit-clients-{Guid.NewGuid():N}");
            Directory.CreateDirectory(folder);
            foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            var install = await RunProcessAsync("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"], folder, new Dictionary<string, string>(), TimeSpan.FromMinutes(5));
            Assert.True(install.ExitCode == 0, $"npm ci failed: {install}");
            return _installed = folder;
        }
        finally { InstallOnce.Release(); }
    }

    private static async Task<Outcome> RunProcessAsync(string command, string[] arguments, string folder, IDictionary<string, string> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(command) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} {string.Join(' ', arguments)} did not finish within {timeout}.");
        }
        return new Outcome(process.ExitCode, await output, await errors);
    }
}
