using Mailtest.Core.Messages;
using Microsoft.Data.Sqlite;

namespace Mailtest.Tests.Messages;

/// <summary>The SQLite search index file of a test's data directory, looked at directly (next to the main file, attached as "search").</summary>
internal static class SearchIndexFiles
{
    public const string IntegrityCheck = """INSERT INTO "search"."MessageSearchIndex"("MessageSearchIndex", rank) VALUES ('integrity-check', 1);""";

    public static string MainPath(string dataDirectory) => Path.Combine(dataDirectory, "mailtest.db");

    public static string IndexPath(string dataDirectory) => SearchIndexFile.PathFor(MainPath(dataDirectory));

    /// <summary>A connection of its own (not pooled) to the main file with the index file attached for writing.</summary>
    public static async Task<SqliteConnection> OpenAsync(string dataDirectory)
    {
        var connection = new SqliteConnection($"Data Source={MainPath(dataDirectory)};Pooling=False");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var attach = connection.CreateCommand();
        attach.CommandText = """PRAGMA busy_timeout=10000; ATTACH DATABASE $path AS "search";""";
        attach.Parameters.AddWithValue("$path", IndexPath(dataDirectory));
        await attach.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        return connection;
    }

    public static async Task<long> ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken) ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The message ids (upper-case text) the index names for <paramref name="term"/>, and "no entry" for each index row without a search entry.</summary>
    public static async Task<List<string>> NamedAsync(SqliteConnection connection, string term)
    {
        await using var named = connection.CreateCommand();
        named.CommandText = """
            SELECT e."MessageId" FROM "search"."MessageSearchIndex" i JOIN "MessageSearchEntries" e ON e."Id" = i.rowid
            WHERE i."MessageSearchIndex" MATCH $query
            UNION ALL SELECT 'no entry' FROM "search"."MessageSearchIndex" i WHERE i."MessageSearchIndex" MATCH $query AND i.rowid NOT IN (SELECT "Id" FROM "MessageSearchEntries")
            """;
        named.Parameters.AddWithValue("$query", SearchTrigrams.MatchQuery(term));
        var names = new List<string>();
        await using var reader = await named.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        while (await reader.ReadAsync(TestContext.Current.CancellationToken)) names.Add(reader.GetString(0));
        return names;
    }
}
