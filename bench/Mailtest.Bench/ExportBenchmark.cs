using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Mailtest.Bench;

/// <summary>
/// "Download all as .zip" of a growing environment: the export job streams each message from the
/// store into the zip, so the server's peak memory should not grow with the size of the export.
/// One environment is filled to each size in turn and exported through the API; the server's
/// resident set size is sampled every 20 ms while the job runs.
/// </summary>
public static class ExportBenchmark
{
    public sealed record Result(int Messages, long ExportBytes, long BaselineRssBytes, long PeakRssBytes, double Seconds);

    public static async Task<IReadOnlyList<Result>> RunAsync(string appPath, int megabytes, IReadOnlyList<int> messageCounts)
    {
        await using var server = await MailtestProcess.StartAsync(appPath);
        var (username, password, environmentId, token) = await SetUpAsync(server);
        using var http = new HttpClient { BaseAddress = server.WebAddress, Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var message = LargeMessageBenchmark.Message(megabytes);
        var stored = 0;
        var results = new List<Result>();
        foreach (var count in messageCounts)
        {
            for (; stored < count; stored++) await LargeMessageBenchmark.SendAsync(server, username, password, message);
            await Task.Delay(TimeSpan.FromSeconds(2)); // let the server settle after the sends
            var baseline = server.Memory().Current;
            using var memory = new MemorySampler(server);
            var clock = Stopwatch.StartNew();
            var requested = await http.PostAsync($"api/v1/environments/{environmentId}/exports", null);
            requested.EnsureSuccessStatusCode();
            var id = (await requested.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
            JsonElement status;
            do
            {
                await Task.Delay(100);
                status = await http.GetFromJsonAsync<JsonElement>($"api/v1/exports/{id}");
            } while (status.GetProperty("state").GetString() is "queued" or "running");
            if (status.GetProperty("state").GetString() != "ready")
                throw new InvalidOperationException($"The export ended {status.GetProperty("state").GetString()}: {status.GetProperty("error")}");
            results.Add(new Result(count, status.GetProperty("sizeBytes").GetInt64(), baseline, memory.Peak, clock.Elapsed.TotalSeconds));
        }
        return results;
    }

    private static async Task<(string Username, string Password, string EnvironmentId, string Token)> SetUpAsync(MailtestProcess server)
    {
        var organization = (await server.AdminAsync("org", "create", "Export bench", "--plan", "Agency")).GetProperty("id").GetString()!;
        var project = (await server.AdminAsync("project", "create", organization, "Bench project")).GetProperty("id").GetString()!;
        var environment = (await server.AdminAsync("env", "create", project, "staging", "--kind", "staging")).GetProperty("id").GetString()!;
        var credential = await server.AdminAsync("credentials", "issue", environment);
        const string email = "owner@bench.example";
        await server.AdminAsync("user", "create", email, "--password", "bench-Passw0rd-long");
        await server.AdminAsync("member", "add", organization, email, "--role", "owner");
        var token = (await server.AdminAsync("token", "create", email)).GetProperty("token").GetString()!;
        return (credential.GetProperty("username").GetString()!, credential.GetProperty("password").GetString()!, environment, token);
    }
}
