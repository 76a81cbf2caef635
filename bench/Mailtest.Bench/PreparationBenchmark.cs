using System.Diagnostics;
using Mailtest.Bench.Ingest;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Security;
using Mailtest.Smtp;
using Microsoft.Extensions.Options;

namespace Mailtest.Bench;

/// <summary>
/// What ingest does to a captured message before its commit, part by part, in this process on one thread
/// with nothing else running: the MIME summary (<see cref="MimeSummary"/>), sealing (<see cref="RawMessageSeal"/>:
/// Zstandard, then AES-256-GCM) and the search index's words (<see cref="SearchTrigrams.IndexText"/>). The
/// same parts measured inside a loaded server cost more (docs/benchmarks.md, "Session 21" and "Session 22").
/// </summary>
public static class PreparationBenchmark
{
    public sealed record Result(string Part, double MicrosecondsPerMessage);

    public static IReadOnlyList<Result> Run(string body, int messages, int rounds)
    {
        var pool = IngestBodies.EmlPool(body, 200);
        var keys = Directory.CreateTempSubdirectory("mailtest-bench-keys-");
        try
        {
            var secrets = new InstallationSecrets(Options.Create(new SecurityOptions()), Options.Create(new DataOptions { Directory = keys.FullName }));
            var seal = new RawMessageSeal(new SecretBox(secrets), new ChunkedSecretBox(secrets));
            // The text search reads, as ingest joins it: subject, addresses, body.
            var texts = pool.Select(eml =>
            {
                using var spooled = SpooledMessage.FromBytes(eml);
                var m = MimeSummary.ReadAsync(spooled, CancellationToken.None).GetAwaiter().GetResult();
                return string.Join('\n', new[] { m.Subject, m.From, m.To, m.Cc, m.BodyText }.Where(s => !string.IsNullOrEmpty(s)));
            }).ToArray();
            var parts = new (string Name, Action<int> Run)[]
            {
                ("MIME parse and summary (`MimeSummary.ReadAsync`)", i =>
                {
                    using var spooled = SpooledMessage.FromBytes(pool[i]);
                    MimeSummary.ReadAsync(spooled, CancellationToken.None).GetAwaiter().GetResult();
                }),
                ("sealing: Zstandard 1 + AES-256-GCM (`RawMessageSeal.SealAsync`)", i =>
                {
                    using var spooled = SpooledMessage.FromBytes(pool[i]);
                    seal.SealAsync(spooled, Guid.CreateVersion7(), CancellationToken.None).GetAwaiter().GetResult();
                }),
                ("the index's words (`SearchTrigrams.IndexText`)", i => SearchTrigrams.IndexText(texts[i])),
            };
            var perRound = parts.Select(_ => new List<double>()).ToArray();
            for (var round = 0; round < rounds; round++)
                for (var p = 0; p < parts.Length; p++) // alternating, so drift falls on all
                {
                    var run = parts[p].Run;
                    for (var i = 0; i < 1_000; i++) run(i % pool.Length); // warm
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    for (var i = 0; i < messages; i++) run(i % pool.Length);
                    perRound[p].Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / messages);
                }
            return [.. parts.Select((part, i) => new Result(part.Name, WriterCounters.Median(perRound[i])))];
        }
        finally
        {
            keys.Delete(recursive: true);
        }
    }
}
