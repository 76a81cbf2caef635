using System.Diagnostics;
using System.IO.Compression;
using Mailtest.Bench.Ingest;
using ZstdSharp;

namespace Mailtest.Bench;

/// <summary>
/// What compressing one captured message costs, for the compressors the raw message at rest could use
/// (<c>RawMessageSeal</c> uses Zstandard level 1): the ingest bodies as the SMTP client sends them, each
/// compressed in one call, in this process; CPU per message and the compressed share of the size.
/// </summary>
public static class CompressionBenchmark
{
    public sealed record Result(string Compressor, double MicrosecondsPerMessage, double Ratio);

    public static IReadOnlyList<Result> Run(string body, int messages, int rounds)
    {
        var pool = IngestBodies.EmlPool(body, 200);
        var output = new byte[Compressor.GetCompressBound(pool.Max(m => m.Length)) + 1024];
        using var zstd1 = new Compressor(1);
        using var zstd3 = new Compressor(3);
        var compressors = new (string Name, Func<byte[], int> Compress)[]
        {
            ("Zstandard 1 (as stored)", m => zstd1.Wrap(m, output)),
            ("Zstandard 3", m => zstd3.Wrap(m, output)),
            ("Brotli 1, window 2^18 (stored before)", m => Brotli(m, quality: 1)),
            ("Brotli 0, window 2^18", m => Brotli(m, quality: 0)),
            ("zlib fastest", m =>
            {
                var written = new MemoryStream(output);
                using (var zlib = new ZLibStream(written, CompressionLevel.Fastest, leaveOpen: true)) zlib.Write(m);
                return (int)written.Position;
            }),
        };
        var perRound = compressors.Select(_ => new List<(double Us, double Ratio)>()).ToArray();
        for (var round = 0; round < rounds; round++)
            for (var c = 0; c < compressors.Length; c++) // alternating, so drift falls on all
            {
                var compress = compressors[c].Compress;
                for (var i = 0; i < 1_000; i++) compress(pool[i % pool.Length]); // warm
                long compressed = 0, raw = 0;
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                for (var i = 0; i < messages; i++)
                {
                    var message = pool[i % pool.Length];
                    compressed += compress(message);
                    raw += message.Length;
                }
                perRound[c].Add(((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / messages, (double)compressed / raw));
            }
        return [.. compressors.Select((c, i) => new Result(c.Name, WriterCounters.Median([.. perRound[i].Select(r => r.Us)]), perRound[i][0].Ratio))];

        int Brotli(byte[] message, int quality) =>
            BrotliEncoder.TryCompress(message, output, out var length, quality, window: 18) ? length : throw new InvalidOperationException("Brotli's bound was too small.");
    }
}
