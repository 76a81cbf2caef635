using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mailtest.Core.Data.Migrations.Sqlite
{
    /// <summary>The SQLite full-text index (hand-written: EF Core does not model FTS5).</summary>
    public partial class SearchIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // FTS5 with the trigram tokenizer: substring, case-insensitive matches (LIKE '%x%' is
            // answered from the index). External content: the text lives once, in MessageSearchEntries;
            // the triggers keep the index in step, including rows removed by ON DELETE CASCADE.
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
            migrationBuilder.Sql("""
                CREATE TRIGGER "MessageSearchEntries_au" AFTER UPDATE ON "MessageSearchEntries" BEGIN
                    INSERT INTO "MessageSearchIndex"("MessageSearchIndex", rowid, "Text") VALUES ('delete', old."Id", old."Text");
                    INSERT INTO "MessageSearchIndex"(rowid, "Text") VALUES (new."Id", new."Text");
                END;
                """);
            migrationBuilder.Sql("""INSERT INTO "MessageSearchIndex"("MessageSearchIndex") VALUES ('rebuild');""");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_au";""");
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_ad";""");
            migrationBuilder.Sql("""DROP TRIGGER IF EXISTS "MessageSearchEntries_ai";""");
            migrationBuilder.Sql("""DROP TABLE IF EXISTS "MessageSearchIndex";""");
        }
    }
}
