using System.Diagnostics;
using Mailtest.Bench.Ingest;
using Mailtest.Core.Messages;
using Microsoft.Data.Sqlite;

namespace Mailtest.Bench;

/// <summary>
/// What the SQLite full-text index costs per message, by way of indexing (issue 10, item 2): the
/// ingest benchmark's bodies go into a fresh database file through the SQLite that
/// Microsoft.Data.Sqlite bundles, in transactions of <c>batch</c> documents as the ingest writer's
/// index steps do, with the writer's PRAGMAs. CPU is this process's user + system time (the work is
/// on one thread; each variant's C# preparation of the texts is done before and timed apart: the "C# preparation alone" row). Then a few searches: the
/// candidates of a word taken from a document, and of a word found nowhere.
/// </summary>
public static class IndexCostBenchmark
{
    public sealed record Variant(string Name, string Table, Func<string, string> Prepare, Func<string, string?> Query);

    public sealed record Result(string Variant, double CpuMsPerDocument, double WallMsPerDocument, double DatabaseMb, double QueryMs, double CandidatesPerQuery);

    public static IReadOnlyList<Variant> Variants { get; } =
    [
        new("trigram tokenizer over the text (before)",
            """CREATE VIRTUAL TABLE "Idx" USING fts5("Text", tokenize='trigram', detail='none', content='')""",
            text => text, OldTrigramQuery),
        new("trigram, text lower-cased in C#, case_sensitive 1",
            """CREATE VIRTUAL TABLE "Idx" USING fts5("Text", tokenize='trigram case_sensitive 1', detail='none', content='')""",
            text => text.ToLowerInvariant(), term => OldTrigramQuery(term.ToLowerInvariant())),
        new("trigram over each distinct lower-cased word once (contentless)",
            """CREATE VIRTUAL TABLE "Idx" USING fts5("Text", tokenize='trigram case_sensitive 1', detail='none', content='', contentless_delete=1)""",
            text => string.Join(' ', text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Distinct()),
            term => OldTrigramQuery(term.ToLowerInvariant())),
        new("distinct in-word trigrams from C#, ascii tokenizer (contentless_delete=1), 3-character words",
            """CREATE VIRTUAL TABLE "Idx" USING fts5("Trigrams", tokenize='ascii', detail='none', content='', contentless_delete=1); INSERT INTO "Idx"("Idx", rank) VALUES ('hashsize', 8388608)""",
            text => WithoutSpread(SearchTrigrams.IndexText(text))!, term => WithoutSpread(SearchTrigrams.MatchQuery(term))),
        new("the same, words with 2 spread characters (now)",
            """CREATE VIRTUAL TABLE "Idx" USING fts5("Trigrams", tokenize='ascii', detail='none', content='', contentless_delete=1); INSERT INTO "Idx"("Idx", rank) VALUES ('hashsize', 8388608)""",
            SearchTrigrams.IndexText, SearchTrigrams.MatchQuery),
        new("the same, automerge=8",
            """CREATE VIRTUAL TABLE "Idx" USING fts5("Trigrams", tokenize='ascii', detail='none', content='', contentless_delete=1); INSERT INTO "Idx"("Idx", rank) VALUES ('hashsize', 8388608); INSERT INTO "Idx"("Idx", rank) VALUES ('automerge', 8)""",
            SearchTrigrams.IndexText, SearchTrigrams.MatchQuery),
        new("the same, automerge=16, crisismerge=64",
            """CREATE VIRTUAL TABLE "Idx" USING fts5("Trigrams", tokenize='ascii', detail='none', content='', contentless_delete=1); INSERT INTO "Idx"("Idx", rank) VALUES ('hashsize', 8388608); INSERT INTO "Idx"("Idx", rank) VALUES ('automerge', 16); INSERT INTO "Idx"("Idx", rank) VALUES ('crisismerge', 64)""",
            SearchTrigrams.IndexText, SearchTrigrams.MatchQuery),
        new("C# preparation alone (SearchTrigrams.IndexText, no SQLite)", "", SearchTrigrams.IndexText, SearchTrigrams.MatchQuery),
        // SQLite refuses columnsize=0 with contentless_delete=1: without it, deleting needs every trigram again.
        new("the same, columnsize=0 (contentless, no contentless_delete)",
            """CREATE VIRTUAL TABLE "Idx" USING fts5("Trigrams", tokenize='ascii', detail='none', content='', columnsize=0); INSERT INTO "Idx"("Idx", rank) VALUES ('hashsize', 8388608)""",
            SearchTrigrams.IndexText, SearchTrigrams.MatchQuery),
    ];

    public static IReadOnlyList<Result> Run(string bodyKind, int documents, int batch, int rounds, IReadOnlyList<Variant> variants)
    {
        var texts = IngestBodies.Pool(bodyKind, documents)
            .Select(m => string.Join('\n', m.Subject, m.From.ToString(), m.To.ToString(), m.TextBody)).ToList();
        var random = new Random(7);
        var words = texts.Select(t => t.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Where(w => w.Length > 0)
            .Select(w => w[random.Next(w.Length)]).Where(w => w.Length >= 5).Take(200).Append("zzqqxxj").ToList();
        var results = new List<Result>();
        // Alternating rounds (forward, backward), so no variant always runs first or last.
        for (var round = 0; round < rounds; round++)
            foreach (var variant in round % 2 == 0 ? variants : variants.Reverse())
                results.Add(RunOne(variant, texts, words, batch));
        return [.. results.GroupBy(r => r.Variant).Select(g => g.OrderBy(r => r.CpuMsPerDocument).ElementAt(g.Count() / 2))
            .OrderBy(r => Variants.ToList().FindIndex(v => v.Name == r.Variant))];
    }

    private static Result RunOne(Variant variant, IReadOnlyList<string> texts, IReadOnlyList<string> words, int batch)
    {
        if (variant.Table == "") return PrepareOnly(variant, texts);
        var path = Path.Combine(Path.GetTempPath(), $"mailtest-index-cost-{Guid.NewGuid():N}.db");
        try
        {
            using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
            Execute(connection, variant.Table);
            using var insert = connection.CreateCommand();
            insert.CommandText = """INSERT INTO "Idx" (rowid, "Text") VALUES ($id, $text)""".Replace("\"Text\"", variant.Table.Contains("\"Trigrams\"") ? "\"Trigrams\"" : "\"Text\"");
            var id = insert.Parameters.Add("$id", SqliteType.Integer);
            var text = insert.Parameters.Add("$text", SqliteType.Text);
            var prepared = texts.Select(variant.Prepare).ToList(); // its cost is the "C# preparation alone" row
            GC.Collect();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            for (var start = 0; start < texts.Count; start += batch)
            {
                using var transaction = connection.BeginTransaction(deferred: false);
                insert.Transaction = transaction;
                for (var i = start; i < Math.Min(texts.Count, start + batch); i++)
                {
                    id.Value = i + 1;
                    text.Value = prepared[i];
                    insert.ExecuteNonQuery();
                }
                transaction.Commit();
            }
            var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
            var wallMs = wall.Elapsed.TotalMilliseconds;
            Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE)");
            var bytes = new FileInfo(path).Length;

            using var query = connection.CreateCommand();
            query.CommandText = """SELECT count(*) FROM "Idx" WHERE "Idx" MATCH $q""";
            var q = query.Parameters.Add("$q", SqliteType.Text);
            long candidates = 0;
            var queries = Stopwatch.StartNew();
            foreach (var word in words)
            {
                q.Value = variant.Query(word);
                candidates += (long)query.ExecuteScalar()!;
            }
            return new Result(variant.Name, cpuMs / texts.Count, wallMs / texts.Count, bytes / 1048576.0,
                queries.Elapsed.TotalMilliseconds / words.Count, candidates / (double)words.Count);
        }
        finally
        {
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
                File.Delete(file);
        }
    }

    private static Result PrepareOnly(Variant variant, IReadOnlyList<string> texts)
    {
        GC.Collect();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        long characters = 0;
        foreach (var text in texts) characters += variant.Prepare(text).Length;
        return new Result(variant.Name, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / texts.Count,
            wall.Elapsed.TotalMilliseconds / texts.Count, 0, 0, characters / (double)texts.Count);
    }

    /// <summary>The index words (or a query of them) as they were before <c>SearchTrigrams.Spread</c>: the trigrams' three characters alone.</summary>
    private static string? WithoutSpread(string? words) => words is null ? null
        : System.Text.RegularExpressions.Regex.Replace(words, "[0-9a-z]{2}(?=[\" ]|$)", "");

    /// <summary>The query of the trigram tokenizer: every trigram of the term, spaces included.</summary>
    private static string? OldTrigramQuery(string value)
    {
        var characters = value.EnumerateRunes().Select(r => r.ToString()).ToArray();
        if (characters.Length < 3) return null;
        return string.Join(" AND ", Enumerable.Range(0, characters.Length - 2)
            .Select(i => string.Concat(characters[i], characters[i + 1], characters[i + 2])).Distinct()
            .Select(t => "\"" + t.Replace("\"", "\"\"") + "\""));
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
