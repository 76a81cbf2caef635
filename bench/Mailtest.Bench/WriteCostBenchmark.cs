using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using Mailtest.Bench.Ingest;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Tenancy;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Mailtest.Bench;

/// <summary>
/// What SQLite's write pattern costs per message (issue 10): the ingest writer's own commit
/// (<see cref="SqliteMessageBatchWriter.WriteAsync"/>) into a database made by the real migrations, in
/// transactions of 2 and 3 messages alternately (2.5 on average, as the server commits under 8-connection
/// load), each fsynced as in the server. Each variant changes the schema or a setting after the migrations,
/// to bound what a change of the write pattern could give; the full-text index step is not run.
/// The messages are the ingest benchmark's bodies: summary, search text (subject, addresses, body text) and
/// "sealed" bytes of the size Brotli (quality 1) gives them plus the seal's overhead, random as ciphertext is.
/// CPU is this process's user + system time over the commits. WAL frames per message are counted in a
/// separate run of each variant with checkpoints held off (the write-ahead log's size divided by a frame's).
/// </summary>
public static class WriteCostBenchmark
{
    public sealed record Variant(string Name, string Sql, bool EmptySearchText = false);

    public sealed record Result(string Variant, double CpuUsPerMessage, double WallUsPerMessage, double WalFramesPerMessage, double FileBytesPerMessage);

    private const string ContentsWithoutKey = """
        DROP TABLE "MessageContents";
        CREATE TABLE "MessageContents" ("MessageId" TEXT NOT NULL, "Sealed" BLOB NOT NULL);
        """;
    private const string NoIncrementalVacuum = """PRAGMA auto_vacuum=NONE; VACUUM;""";
    private const string EntriesWithoutAutoincrement = """
        DROP TABLE "MessageSearchEntries";
        CREATE TABLE "MessageSearchEntries" ("Id" INTEGER PRIMARY KEY, "MessageId" TEXT NOT NULL, "Text" TEXT NOT NULL);
        CREATE UNIQUE INDEX "IX_MessageSearchEntries_MessageId" ON "MessageSearchEntries" ("MessageId");
        """;

    public static IReadOnlyList<Variant> Variants { get; } =
    [
        new("as built", ""),
        new("incremental auto-vacuum off (no pointer-map pages)", NoIncrementalVacuum),
        new("MessageContents without its MessageId key (one b-tree less)", ContentsWithoutKey),
        new("MessageSearchEntries without AUTOINCREMENT (no sqlite_sequence row)", EntriesWithoutAutoincrement),
        new("without IX_Messages_OrganizationId_ReceivedUtc", """DROP INDEX "IX_Messages_OrganizationId_ReceivedUtc";"""),
        new("the three above it together", NoIncrementalVacuum + ContentsWithoutKey + EntriesWithoutAutoincrement),
        new("search text empty (the row kept)", "", EmptySearchText: true),
        new("8 KB pages", """PRAGMA journal_mode=DELETE; PRAGMA page_size=8192; VACUUM; PRAGMA journal_mode=WAL;"""),
    ];

    /// <param name="perCommit">Messages per transaction; null: 2 and 3 alternately.</param>
    public static async Task<IReadOnlyList<Result>> RunAsync(int messages, int rounds, int? perCommit, IReadOnlyList<Variant> variants)
    {
        var pool = IngestBodies.Pool(IngestBodies.Realistic, 200);
        var results = new List<Result>();
        var frames = new Dictionary<string, (double Frames, double Bytes)>();
        foreach (var variant in variants)
            frames[variant.Name] = (await RunOneAsync(variant, pool, messages, perCommit, countFrames: true)).Frames;
        // Alternating rounds (forward, backward), so no variant always runs first or last.
        for (var round = 0; round < rounds; round++)
            foreach (var variant in round % 2 == 0 ? variants : variants.Reverse())
            {
                var (cpu, wall, _) = await RunOneAsync(variant, pool, messages, perCommit, countFrames: false);
                results.Add(new Result(variant.Name, cpu, wall, frames[variant.Name].Frames, frames[variant.Name].Bytes));
            }
        return [.. results.GroupBy(r => r.Variant).Select(g => g.OrderBy(r => r.CpuUsPerMessage).ElementAt(g.Count() / 2))
            .OrderBy(r => Variants.ToList().FindIndex(v => v.Name == r.Variant))];
    }

    private static async Task<(double Cpu, double Wall, (double Frames, double Bytes) Frames)> RunOneAsync(
        Variant variant, IReadOnlyList<MimeKit.MimeMessage> pool, int messages, int? perCommit, bool countFrames)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"mailtest-write-cost-{Guid.NewGuid():N}");
        try
        {
            var data = new DataOptions { Directory = directory };
            var factory = new MailtestDbContextFactory(Options.Create(data));
            await new DatabaseMigrator(factory, Options.Create(data), NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
            var (organizationId, environmentId) = await CreateEnvironmentAsync(factory);
            var connectionString = data.EffectiveConnectionString;
            SqliteConnection.ClearAllPools(); // EF's pooled connections closed, so the variant's VACUUM and the checkpoint find the file free
            await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString()))
            {
                connection.Open();
                if (variant.Sql.Length > 0) Execute(connection, variant.Sql);
                Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE)");
            }
            // Counting frames: a reader holding its snapshot from before the first commit keeps every checkpoint
            // from copying or restarting the write-ahead log, so the log ends up holding every frame written.
            await using var holder = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString());
            if (countFrames)
            {
                holder.Open();
                Execute(holder, """BEGIN; SELECT count(*) FROM "Messages";""");
            }
            var prepared = Prepare(pool, messages, organizationId, environmentId, variant.EmptySearchText);
            await using var writer = new SqliteMessageBatchWriter(connectionString);
            // A warm-up, outside the timing: the connection opened, its statements prepared, the writer's code compiled.
            var warmUp = Math.Min(1_000, messages / 5);
            await WriteAsync(writer, prepared, 0, warmUp, perCommit);
            GC.Collect();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            await WriteAsync(writer, prepared, warmUp, prepared.Count, perCommit);
            var written = prepared.Count - warmUp;
            var cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / written;
            var wallUs = wall.Elapsed.TotalMicroseconds / written;
            var database = Path.Combine(directory, "mailtest.db");
            using var probe = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
            probe.Open();
            var pageSize = Scalar(probe, "PRAGMA page_size");
            var walBytes = new FileInfo(database + "-wal").Length;
            // The log and the file hold the warm-up's messages too.
            return (cpuUs, wallUs, (walBytes / (double)(pageSize + 24) / prepared.Count, Scalar(probe, "PRAGMA page_count") * pageSize / (double)prepared.Count));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Messages <paramref name="from"/> to <paramref name="to"/> (excluded) in commits of <paramref name="perCommit"/>, or of 2 and 3 alternately.</summary>
    private static async Task WriteAsync(SqliteMessageBatchWriter writer, List<PreparedMessage> prepared, int from, int to, int? perCommit)
    {
        for (var (start, commits) = (from, 0); start < to; commits++)
        {
            var count = Math.Min(perCommit ?? (commits % 2 == 0 ? 2 : 3), to - start);
            await writer.WriteAsync(prepared.GetRange(start, count));
            start += count;
        }
    }

    private static async Task<(Guid Organization, Guid Environment)> CreateEnvironmentAsync(MailtestDbContextFactory factory)
    {
        await using var db = factory.CreateDbContext();
        var organization = new Organization { Name = "Bench", Slug = "bench1" };
        var project = new Project { OrganizationId = organization.Id, Name = "Bench" };
        var environment = new ProjectEnvironment { ProjectId = project.Id, Name = "Bench", Slug = "bench1", MailtestState = MailtestState.Enabled };
        db.AddRange(organization, project, environment);
        await db.SaveChangesAsync();
        return (organization.Id, environment.Id);
    }

    private static List<PreparedMessage> Prepare(IReadOnlyList<MimeKit.MimeMessage> pool, int messages, Guid organizationId, Guid environmentId, bool emptySearchText)
    {
        var sealedSizes = pool.Select(SealedSize).ToList();
        var prepared = new List<PreparedMessage>(messages + 1_000);
        var received = DateTime.UtcNow;
        for (var i = 0; i < messages + Math.Min(1_000, messages / 5); i++)
        {
            var message = pool[i % pool.Count];
            var summary = new CapturedMessage
            {
                OrganizationId = organizationId,
                EnvironmentId = environmentId,
                ReceivedUtc = received.AddTicks(i * 10),
                EnvelopeFrom = message.From.Mailboxes.First().Address,
                EnvelopeTo = message.To.Mailboxes.First().Address,
                From = message.From.ToString(),
                To = message.To.ToString(),
                Subject = message.Subject,
                MessageIdHeader = message.MessageId,
                Size = 8_900,
            };
            var searchText = emptySearchText ? "" : string.Join('\n', message.Subject, message.From.ToString(), message.To.ToString(), message.TextBody);
            prepared.Add(new PreparedMessage(summary, SealedContent.InMemory(RandomNumberGenerator.GetBytes(sealedSizes[i % pool.Count])), searchText));
        }
        return prepared;
    }

    /// <summary>Brotli at quality 1 (as <c>RawMessageSeal</c>) plus AES-GCM's nonce and tag and the seal's header.</summary>
    private static int SealedSize(MimeKit.MimeMessage message)
    {
        using var raw = new MemoryStream();
        message.WriteTo(raw);
        using var compressed = new MemoryStream();
        using (var brotli = new BrotliStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            brotli.Write(raw.GetBuffer(), 0, (int)raw.Length);
        return (int)compressed.Length + 40;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
