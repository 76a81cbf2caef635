using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Messages;

/// <summary>
/// SQLite's full-text index lives in a database file of its own next to the main one
/// (<c>mailtest.db</c> → <c>mailtest.search.db</c>), attached to every connection as the schema
/// <see cref="Schema"/>. SQLite allows one writer per file: with the index in a second file, the
/// ingest writer's index steps run beside its commits instead of between them (see <see cref="IngestWriter"/>).
/// <para>
/// The file is disposable: it holds the FTS5 table <c>MessageSearchIndex</c> (each search entry's distinct
/// in-word trigrams, see <see cref="SearchTrigrams"/>, rowid = <c>MessageSearchEntries.Id</c>) and the
/// progress mark <c>SearchIndexProgress.IndexedThroughId</c>, written in the same transactions. Missing or
/// unreadable at start, it is made anew, empty, and the index step rebuilds it from the stored text
/// (<c>MessageSearchEntries.Text</c>) in the background. App connections attach it read-only, so their
/// write transactions never lock it; only the ingest writer's index connection writes it.
/// </para>
/// </summary>
public static class SearchIndexFile
{
    /// <summary>The schema name the index file is attached as.</summary>
    public const string Schema = "search";

    /// <summary>The index file of the main database at <paramref name="databasePath"/>: <c>name.search.ext</c> beside it.</summary>
    public static string PathFor(string databasePath)
    {
        var full = Path.GetFullPath(databasePath);
        return Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full) + ".search" + Path.GetExtension(full));
    }

    /// <summary>
    /// FTS5 holds a transaction's new index words in memory up to this much before writing a segment
    /// (its default is 1 MB). A random-word message brings ~2,700 distinct words, ~100 KB of that: at the
    /// default an index step of 100 messages wrote ten small segments, each merged again later. Stored
    /// in the table's FTS5 config; memory only while a step runs.
    /// </summary>
    private const int IndexStepMemoryBytes = 8 * 1024 * 1024;

    /// <summary>
    /// FTS5 writes each index step as a new segment and merges segments in the background of later steps:
    /// with its default of 4, every index word is rewritten once per level of ×4, so merging grew with the
    /// index and was most of its cost (realistic body, 60,000 documents: 0.139 ms per document against 0.063
    /// with 16). 16, FTS5's largest, merges a level once it has 16 segments: half the levels, for searches
    /// that read up to 15 segments per level instead of 3. Crisis merges (a whole level at once, inside one
    /// step) only from 64, so the incremental merges have room to keep up.
    /// </summary>
    private const int SegmentsPerMerge = 16, SegmentsForCrisisMerge = 64;

    /// <summary>
    /// The form of the file, kept as its <c>user_version</c>: a file of another form is made anew and rebuilt.
    /// The index's words (<see cref="SearchTrigrams"/>): 0 (files made before it was kept), a trigram's three
    /// characters alone; 2, with its two spread characters (a file of other words would answer no search).
    /// 3: the same words, in a file made with <c>auto_vacuum=INCREMENTAL</c>, which can give the pages a purge
    /// frees back to the file system (<see cref="IngestWriter.GiveBackIndexSpaceAsync"/>); SQLite sets that
    /// only on a new file, so older files are made anew once.
    /// </summary>
    internal const int FileFormat = 3;

    /// <summary>The index file's tables, created when missing, and the index's settings (<paramref name="schema"/>: where the file is attached, or main when opened directly).</summary>
    internal static string CreateTablesSql(string schema) => $"""
        CREATE VIRTUAL TABLE IF NOT EXISTS "{schema}"."MessageSearchIndex" USING fts5(
            "Trigrams", tokenize='ascii', detail='none', content='', contentless_delete=1);
        INSERT INTO "{schema}"."MessageSearchIndex" ("MessageSearchIndex", rank) VALUES ('hashsize', {IndexStepMemoryBytes});
        INSERT INTO "{schema}"."MessageSearchIndex" ("MessageSearchIndex", rank) VALUES ('automerge', {SegmentsPerMerge});
        INSERT INTO "{schema}"."MessageSearchIndex" ("MessageSearchIndex", rank) VALUES ('crisismerge', {SegmentsForCrisisMerge});
        CREATE TABLE IF NOT EXISTS "{schema}"."SearchIndexProgress" (
            "Id" INTEGER NOT NULL PRIMARY KEY CHECK ("Id" = 1),
            "IndexedThroughId" INTEGER NOT NULL);
        INSERT OR IGNORE INTO "{schema}"."SearchIndexProgress" ("Id", "IndexedThroughId") VALUES (1, 0);
        PRAGMA "{schema}".user_version = {FileFormat};
        """;

    /// <summary>
    /// Makes sure the index file of <paramref name="databasePath"/> exists and can be read, before any
    /// connection attaches it: a missing file is created; an unreadable one (not a database, damaged, from
    /// an incompatible build) or one of another form (<see cref="FileFormat"/>) is deleted
    /// and created anew. Either way the index step rebuilds it from the stored text. Called at start, while
    /// nothing else has the file open.
    /// </summary>
    public static void EnsureUsable(string databasePath, ILogger logger)
    {
        var path = PathFor(databasePath);
        try
        {
            if (CreateTables(path) is not { } format) return;
            logger.LogInformation("The search index {Path} is of an older form ({Format}); making it anew (it is rebuilt from the stored text in the background).", path, format);
        }
        catch (SqliteException error)
        {
            logger.LogWarning(error, "The search index {Path} cannot be read; making it anew (it is rebuilt from the stored text in the background).", path);
        }
        foreach (var file in FilesOf(path))
            File.Delete(file);
        CreateTables(path);
    }

    /// <returns>Null when the file is usable (made if missing); its form when it has another.</returns>
    private static long? CreateTables(string path)
    {
        using var connection = new SqliteConnection(OwnConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        // Reads the schema first (fails on a file that is not a database). Incremental vacuum before WAL: SQLite
        // takes it only on a new file (on an older one it changes nothing, and the form below says so).
        command.CommandText = "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; BEGIN IMMEDIATE;";
        command.ExecuteNonQuery();
        command.CommandText = """
            SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_schema WHERE "name" = 'MessageSearchIndex') THEN (SELECT "user_version" FROM pragma_user_version) END
            """;
        if (command.ExecuteScalar() is long format && format != FileFormat)
        {
            command.CommandText = "ROLLBACK";
            command.ExecuteNonQuery();
            return format;
        }
        // Then the mark (fails on a damaged table).
        command.CommandText = $"""
            {CreateTablesSql("main")}
            COMMIT;
            SELECT "IndexedThroughId" FROM "SearchIndexProgress";
            SELECT count(*) FROM (SELECT rowid FROM "MessageSearchIndex" LIMIT 1);
            """;
        command.ExecuteNonQuery();
        return null;
    }

    /// <summary>The files an SQLite database at <paramref name="path"/> may have on disk: itself, its write-ahead log, its shared memory, its rollback journal.</summary>
    internal static string[] FilesOf(string path) => [path, path + "-wal", path + "-shm", path + "-journal"];

    private static string OwnConnectionString(string path) => new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();

    /// <summary>The full path of the database file a SQLite connection string names; null for an in-memory database.</summary>
    internal static string? DatabasePath(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        var source = builder.DataSource;
        if (source.Length == 0 || source == ":memory:" || builder.Mode == SqliteOpenMode.Memory) return null;
        if (!source.StartsWith("file:", StringComparison.OrdinalIgnoreCase)) return Path.GetFullPath(source);
        var path = source["file:".Length..].Split('?', '#')[0];
        if (path.StartsWith("//", StringComparison.Ordinal)) path = path[path.IndexOf('/', 2)..]; // file://host/path
        return Path.GetFullPath(System.Uri.UnescapeDataString(path));
    }

    /// <summary>
    /// A connection string whose database is named as a <c>file:</c> URI: SQLite then reads URIs in ATTACH
    /// too, which the read-only attachment of the index file needs (<c>?mode=ro</c>).
    /// </summary>
    internal static string WithUriDataSource(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.DataSource.Length == 0 || builder.DataSource == ":memory:" || builder.Mode == SqliteOpenMode.Memory
            || builder.DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            return connectionString;
        builder.DataSource = Uri(Path.GetFullPath(builder.DataSource), readOnly: false);
        return builder.ToString();
    }

    /// <summary>An SQLite <c>file:</c> URI of an absolute path (only %, ? and # have a meaning in it that a path must not take).</summary>
    internal static string Uri(string fullPath, bool readOnly)
    {
        var escaped = fullPath.Replace('\\', '/').Replace("%", "%25").Replace("?", "%3f").Replace("#", "%23");
        return "file:" + (escaped.StartsWith('/') ? "" : "/") + escaped + (readOnly ? "?mode=ro" : "");
    }
}
