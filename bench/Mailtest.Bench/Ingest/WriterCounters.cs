using System.Diagnostics;
using System.Text.Json;

namespace Mailtest.Bench.Ingest;

/// <summary>Commits per second and messages per commit of Mailtest's ingest writer over one run, and how far
/// search lagged behind the commits (the writer's gauge, sampled once a second: median and largest sample).</summary>
public sealed record WriterFigures(double CommitsPerSecond, double BatchP50, double BatchP95, double SearchLagP50Ms, double SearchLagMaxMs);

/// <summary>
/// Reads the ingest writer's meter (<c>Mailtest.Ingest</c>) from the running server with
/// <c>dotnet-counters collect</c> (installed with <c>dotnet tool install dotnet-counters --tool-path DIR</c>).
/// </summary>
public sealed class WriterCounters : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _output;

    private WriterCounters(Process process, string output)
    {
        _process = process;
        _output = output;
    }

    public static WriterCounters Start(string dotnetCounters, int processId, TimeSpan duration)
    {
        var output = Path.Combine(Path.GetTempPath(), $"mailtest-bench-counters-{Guid.NewGuid():N}.json");
        var start = new ProcessStartInfo(dotnetCounters) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "collect", "-p", processId.ToString(), "--counters", "Mailtest.Ingest", "--format", "json", "-o", output,
                     "--refresh-interval", "1", "--duration", $"00:00:{(int)duration.TotalMinutes:D2}:{duration.Seconds:D2}" })
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet-counters");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WriterCounters(process, output);
    }

    /// <summary>Waits for the collection to end and reads the medians of its one-second intervals.</summary>
    public async Task<WriterFigures?> ReadAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
        }
        if (!File.Exists(_output))
            return null;
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(_output));
        var commits = new List<double>();
        var p50 = new List<double>();
        var p95 = new List<double>();
        var lag = new List<double>();
        foreach (var e in json.RootElement.GetProperty("Events").EnumerateArray())
        {
            var name = e.GetProperty("name").GetString() ?? "";
            var tags = e.TryGetProperty("tags", out var t) ? t.GetString() ?? "" : "";
            var value = e.GetProperty("value").GetDouble();
            if (name.StartsWith("mailtest.ingest.commits", StringComparison.Ordinal) && value > 0)
                commits.Add(value);
            else if (name.StartsWith("mailtest.ingest.batch_size", StringComparison.Ordinal) && tags.Contains("Percentile=50"))
                p50.Add(value);
            else if (name.StartsWith("mailtest.ingest.batch_size", StringComparison.Ordinal) && tags.Contains("Percentile=95"))
                p95.Add(value);
            else if (name.StartsWith("mailtest.ingest.search_lag", StringComparison.Ordinal))
                lag.Add(value);
        }
        return commits.Count == 0 ? null : new WriterFigures(Median(commits), Median(p50), Median(p95), Median(lag), lag.Count == 0 ? double.NaN : lag.Max());
    }

    internal static double Median(List<double> values)
    {
        if (values.Count == 0) return double.NaN;
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill();
        _process.Dispose();
        try { File.Delete(_output); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
