using System.Diagnostics;

namespace Mailtest.Tests.Mailpit;

/// <summary>
/// Runs a Node script from TestData/Mailpit next to the real npm clients installed from that folder's
/// committed package.json and package-lock.json. <c>scripts/test.sh</c> installs them once with
/// <c>npm ci</c> before the run and names the folder in <see cref="InstalledVariable"/>; a plain
/// <c>dotnet test</c> installs them itself into a scratch folder.
/// </summary>
public static class NodeScript
{
    public const string InstalledVariable = "MAILTEST_NPM_CLIENTS";

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
            if (Environment.GetEnvironmentVariable(InstalledVariable) is { Length: > 0 } installed)
            {
                Assert.True(Directory.Exists(Path.Combine(installed, "node_modules", "mailpit-api")), $"{InstalledVariable}={installed} has no node_modules/mailpit-api.");
                foreach (var script in Directory.GetFiles(source, "*.mjs")) File.Copy(script, Path.Combine(installed, Path.GetFileName(script)), overwrite: true);
                return _installed = installed;
            }
            var folder = Directory.CreateTempSubdirectory("mailtest-npm-clients-").FullName;
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try { Directory.Delete(folder, recursive: true); }
                catch (IOException) { } // a scratch folder; the temp directory is cleaned anyway
            };
            foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            var install = await RunProcessAsync("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], folder, new Dictionary<string, string>(), TimeSpan.FromMinutes(5));
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
