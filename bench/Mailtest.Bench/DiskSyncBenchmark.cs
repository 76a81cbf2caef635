using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Mailtest.Bench;

/// <summary>
/// What a commit's disk work costs on this machine, without SQLite: N pages of 4 KB written (<c>pwrite</c>)
/// into a 4 MB file, over what is there as SQLite's write-ahead log is once it has grown, then synced
/// (<c>fsync</c>, what SQLite's bundled build calls, or <c>fdatasync</c>); or into a file that grows each time.
/// CPU of this process (its one thread) and wall time per sync. Linux only.
/// </summary>
public static class DiskSyncBenchmark
{
    public sealed record Result(string Variant, double CpuMicroseconds, double WallMicroseconds);

    private enum SyncCall { Fsync, Fdatasync, None }

    private sealed record Variant(string Name, int Pages, SyncCall Sync, bool Grow);

    private const int PageBytes = 4096;
    private const int FileBytes = 4 << 20;

    public static IReadOnlyList<Result> Run(string directory, int syncs, int rounds)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("disk-sync calls fsync and fdatasync: Linux only.");
        Variant[] variants =
        [
            new("1 page, fsync", 1, SyncCall.Fsync, false),
            new("9 pages, fsync", 9, SyncCall.Fsync, false),
            new("27 pages, fsync", 27, SyncCall.Fsync, false),
            new("9 pages, fdatasync", 9, SyncCall.Fdatasync, false),
            new("9 pages, no sync", 9, SyncCall.None, false),
            new("9 pages appended, fsync", 9, SyncCall.Fsync, true),
            new("9 pages appended, fdatasync", 9, SyncCall.Fdatasync, true),
        ];
        var perRound = variants.Select(_ => new List<(double Cpu, double Wall)>()).ToArray();
        var path = Path.Combine(directory, $"mailtest-bench-sync-{Guid.NewGuid():N}");
        try
        {
            for (var round = 0; round < rounds; round++)
                for (var v = 0; v < variants.Length; v++) // alternating, so drift falls on all
                {
                    var (_, pages, sync, grow) = variants[v];
                    using var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
                    if (!grow)
                    {
                        RandomAccess.Write(file, new byte[FileBytes], 0);
                        Sync(file, SyncCall.Fsync);
                    }
                    var page = new byte[PageBytes];
                    Random.Shared.NextBytes(page);
                    long offset = 0;
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    var wall = Stopwatch.GetTimestamp();
                    for (var s = 0; s < syncs; s++)
                    {
                        for (var p = 0; p < pages; p++)
                        {
                            if (!grow && offset + PageBytes > FileBytes) offset = 0;
                            RandomAccess.Write(file, page, offset);
                            offset += PageBytes;
                        }
                        Sync(file, sync);
                    }
                    perRound[v].Add(((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / syncs,
                        Stopwatch.GetElapsedTime(wall).TotalMicroseconds / syncs));
                }
        }
        finally
        {
            File.Delete(path);
        }
        return [.. variants.Select((v, i) => new Result(v.Name,
            Ingest.WriterCounters.Median([.. perRound[i].Select(r => r.Cpu)]), Ingest.WriterCounters.Median([.. perRound[i].Select(r => r.Wall)])))];
    }

    private static void Sync(SafeFileHandle file, SyncCall call)
    {
        var fd = (int)file.DangerousGetHandle();
        var result = call switch { SyncCall.Fsync => FSync(fd), SyncCall.Fdatasync => FDataSync(fd), _ => 0 };
        if (result != 0) throw new IOException($"{call} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FSync(int fd);

    [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static extern int FDataSync(int fd);
}
