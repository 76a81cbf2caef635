using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mailtest.Core.Data.Migrations.Sqlite
{
    /// <summary>
    /// The SQLite full-text index, filled after commit instead of inside it (hand-written: EF Core
    /// does not model FTS5; the model is unchanged, so there is no target model).
    /// </summary>
    [DbContext(typeof(SqliteMailtestDbContext))]
    [Migration("20261126140000_SearchIndexDeferred")]
    public partial class SearchIndexDeferred : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The insert trigger made every ingest commit maintain the trigram index (most of the
            // server's CPU under load). Now the ingest writer indexes committed rows in batches
            // (SqliteMessageBatchWriter.IndexPendingAsync); SearchIndexProgress says how far it got.
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_ai";""");
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_ad";""");
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_au";""");
            migrationBuilder.Sql("""DROP TABLE IF EXISTS "MessageSearchIndex";""");
            // detail=none: the index keeps which rows hold each trigram, not where. It only narrows
            // LIKE '%x%' to candidate rows, and SQLite checks each candidate's text anyway, so the
            // answers are the same, for a smaller index that is cheaper to build.
            migrationBuilder.Sql("""
                CREATE VIRTUAL TABLE "MessageSearchIndex" USING fts5(
                    "Text", content='MessageSearchEntries', content_rowid='Id', tokenize='trigram', detail='none');
                """);
            migrationBuilder.Sql("""
                CREATE TABLE "SearchIndexProgress" (
                    "Id" INTEGER NOT NULL PRIMARY KEY CHECK ("Id" = 1),
                    "IndexedThroughId" INTEGER NOT NULL);
                """);
            migrationBuilder.Sql("""
                INSERT INTO "SearchIndexProgress" ("Id", "IndexedThroughId")
                SELECT 1, coalesce(max("Id"), 0) FROM "MessageSearchEntries";
                """);
            migrationBuilder.Sql("""INSERT INTO "MessageSearchIndex"("MessageSearchIndex") VALUES ('rebuild');""");
            // The index's one delete path: a search entry leaving (a message deleted by any means,
            // ON DELETE CASCADE included) takes its index entry along, if it was indexed yet.
            // External-content FTS5 needs the old text to find the entry.
            migrationBuilder.Sql("""
                CREATE TRIGGER "MessageSearchEntries_ad" AFTER DELETE ON "MessageSearchEntries"
                WHEN old."Id" <= (SELECT "IndexedThroughId" FROM "SearchIndexProgress") BEGIN
                    INSERT INTO "MessageSearchIndex"("MessageSearchIndex", rowid, "Text") VALUES ('delete', old."Id", old."Text");
                END;
                """);
            // Search entries are never updated; refuse it rather than leave the index stale.
            migrationBuilder.Sql("""
                CREATE TRIGGER "MessageSearchEntries_bu" BEFORE UPDATE ON "MessageSearchEntries" BEGIN
                    SELECT RAISE(ABORT, 'MessageSearchEntries rows are immutable; delete and insert instead.');
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_bu";""");
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_ad";""");
            migrationBuilder.Sql("""DROP TABLE IF EXISTS "SearchIndexProgress";""");
            migrationBuilder.Sql("""DROP TABLE IF EXISTS "MessageSearchIndex";""");
            migrationBuilder.Sql("""
                CREATE VIRTUAL TABLE "MessageSearchIndex" USING fts5(
                    "Text", content='MessageSearchEntries', content_rowid='Id', tokenize='trigram');
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "MessageSearchEntries_ai" AFTER INSERT ON "MessageSearchEntries" BEGIN
                    INSERT INTO "MessageSearchIndex"(rowid, "Text") VALUES (new."Id", new."Text");
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "MessageSearchEntries_ad" AFTER DELETE ON "MessageSearchEntries" BEGIN
                    INSERT INTO "MessageSearchIndex"("MessageSearchIndex", rowid, "Text") VALUES ('delete', old."Id", old."Text");
                END;
                """);
            migrationBuilder.Sql("""INSERT INTO "MessageSearchIndex"("MessageSearchIndex") VALUES ('rebuild');""");
        }
    }
}
