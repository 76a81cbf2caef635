using Mailtest.Core.Messages;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mailtest.Core.Data.Migrations.Sqlite
{
    /// <summary>
    /// The SQLite full-text index moves out of the main file into a file of its own
    /// (<see cref="Messages.SearchIndexFile"/>: the app creates it, and the ingest writer's index step fills it from
    /// the stored text, in the background on an upgrade). Here the old index, its delete trigger and its progress
    /// mark leave the main file; what replaces the trigger is a log: a trigger cannot reach another file, so a
    /// deleted search entry's id is noted in <c>SearchIndexDeletions</c> in the deleting transaction, and the index
    /// step removes it from the index file and clears the note. The model is unchanged (EF does not model these).
    /// </summary>
    public partial class SearchIndexInOwnFile : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_ad";""");
            migrationBuilder.Sql("""DROP TABLE IF EXISTS "MessageSearchIndex";""");
            migrationBuilder.Sql("""DROP TABLE IF EXISTS "SearchIndexProgress";""");
            migrationBuilder.Sql("""CREATE TABLE "SearchIndexDeletions" ("EntryId" INTEGER NOT NULL PRIMARY KEY);""");
            // Every deletion of a search entry (a message deleted by any means, ON DELETE CASCADE included).
            migrationBuilder.Sql("""
                CREATE TRIGGER "MessageSearchEntries_ad" AFTER DELETE ON "MessageSearchEntries" BEGIN
                    INSERT OR IGNORE INTO "SearchIndexDeletions" ("EntryId") VALUES (old."Id");
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Back to the index in the main file (SearchIndexTrigramWords), rebuilt from the stored text through
            // the SQL function DatabaseMigrator adds; the index file is left to be deleted by hand.
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_ad";""");
            migrationBuilder.Sql("""DROP TABLE IF EXISTS "SearchIndexDeletions";""");
            migrationBuilder.Sql("""
                CREATE VIRTUAL TABLE "MessageSearchIndex" USING fts5(
                    "Trigrams", tokenize='ascii', detail='none', content='', contentless_delete=1);
                """);
            migrationBuilder.Sql("""
                CREATE TABLE "SearchIndexProgress" (
                    "Id" INTEGER NOT NULL PRIMARY KEY CHECK ("Id" = 1),
                    "IndexedThroughId" INTEGER NOT NULL);
                """);
            migrationBuilder.Sql("""
                INSERT INTO "SearchIndexProgress" ("Id", "IndexedThroughId") SELECT 1, coalesce(max("Id"), 0) FROM "MessageSearchEntries";
                """);
            migrationBuilder.Sql($"""
                INSERT INTO "MessageSearchIndex" (rowid, "Trigrams")
                SELECT "Id", {SearchTrigrams.SqlFunction}("Text") FROM "MessageSearchEntries" ORDER BY "Id";
                """);
            migrationBuilder.Sql("""INSERT INTO "MessageSearchIndex"("MessageSearchIndex") VALUES ('optimize');""");
            migrationBuilder.Sql("""
                CREATE TRIGGER "MessageSearchEntries_ad" AFTER DELETE ON "MessageSearchEntries"
                WHEN old."Id" <= (SELECT "IndexedThroughId" FROM "SearchIndexProgress") BEGIN
                    DELETE FROM "MessageSearchIndex" WHERE rowid = old."Id";
                END;
                """);
        }
    }
}
