using Mailtest.Core.Messages;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mailtest.Core.Data.Migrations.Sqlite
{
    /// <summary>
    /// The SQLite full-text index holds each search entry's distinct in-word trigrams (computed by
    /// <see cref="SearchTrigrams"/>, as words of the ascii tokenizer) instead of running FTS5's trigram
    /// tokenizer over the whole text: about a third less CPU per random-word message, a third smaller
    /// (docs/benchmarks.md). The index of an existing installation is rebuilt here from the stored text
    /// (through the SQL function <see cref="SearchTrigrams.SqlFunction"/>, which DatabaseMigrator adds to
    /// its connection). The model only loses the FTS table's entity, which nothing read.
    /// </summary>
    public partial class SearchIndexTrigramWords : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_ad";""");
            migrationBuilder.Sql("""DROP TABLE IF EXISTS "MessageSearchIndex";""");
            // Contentless: the indexed words are not the stored text, so there is no content table to
            // point at; contentless_delete=1 lets a row be deleted by its rowid alone. detail=none: the
            // index names rows, not positions (it only narrows LIKE, which decides).
            migrationBuilder.Sql("""
                CREATE VIRTUAL TABLE "MessageSearchIndex" USING fts5(
                    "Trigrams", tokenize='ascii', detail='none', content='', contentless_delete=1);
                """);
            // What was indexed before is indexed again; the rows past the mark are the ingest writer's, as always.
            migrationBuilder.Sql($"""
                INSERT INTO "MessageSearchIndex" (rowid, "Trigrams")
                SELECT "Id", {SearchTrigrams.SqlFunction}("Text") FROM "MessageSearchEntries"
                WHERE "Id" <= (SELECT "IndexedThroughId" FROM "SearchIndexProgress") ORDER BY "Id";
                """);
            // One segment, so searches read one b-tree per trigram instead of the many the rebuild left.
            migrationBuilder.Sql("""INSERT INTO "MessageSearchIndex"("MessageSearchIndex") VALUES ('optimize');""");
            // The index's one delete path: a search entry leaving (a message deleted by any means,
            // ON DELETE CASCADE included) takes its index entry along, if it was indexed yet.
            migrationBuilder.Sql("""
                CREATE TRIGGER "MessageSearchEntries_ad" AFTER DELETE ON "MessageSearchEntries"
                WHEN old."Id" <= (SELECT "IndexedThroughId" FROM "SearchIndexProgress") BEGIN
                    DELETE FROM "MessageSearchIndex" WHERE rowid = old."Id";
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Back to the trigram tokenizer over the stored text (SearchIndexDeferred), rebuilt from it.
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_ad";""");
            migrationBuilder.Sql("""DROP TABLE IF EXISTS "MessageSearchIndex";""");
            migrationBuilder.Sql("""
                CREATE VIRTUAL TABLE "MessageSearchIndex" USING fts5(
                    "Text", content='MessageSearchEntries', content_rowid='Id', tokenize='trigram', detail='none');
                """);
            migrationBuilder.Sql("""INSERT INTO "MessageSearchIndex"("MessageSearchIndex") VALUES ('rebuild');""");
            migrationBuilder.Sql("""UPDATE "SearchIndexProgress" SET "IndexedThroughId" = (SELECT coalesce(max("Id"), 0) FROM "MessageSearchEntries");""");
            migrationBuilder.Sql("""
                CREATE TRIGGER "MessageSearchEntries_ad" AFTER DELETE ON "MessageSearchEntries"
                WHEN old."Id" <= (SELECT "IndexedThroughId" FROM "SearchIndexProgress") BEGIN
                    INSERT INTO "MessageSearchIndex"("MessageSearchIndex", rowid, "Text") VALUES ('delete', old."Id", old."Text");
                END;
                """);
        }
    }
}
