using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mailtest.Core.Data.Migrations.Postgres
{
    /// <summary>
    /// Each search entry carries its message's environment, and the trigram index holds it next to the
    /// text (hand-written SQL: one GIN index over both, through btree_gin). Asked within an environment,
    /// the index then names only that environment's candidates, so a word found in thousands of messages
    /// elsewhere is never rechecked here. Replaces the SearchIndex migration's index over the text alone.
    /// </summary>
    public partial class SearchEntryEnvironment : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("CREATE EXTENSION IF NOT EXISTS btree_gin;");
            // Dropped before the existing entries are given their environment: updating every row under
            // the trigram index would insert every trigram of every message into it again.
            migrationBuilder.Sql("""DROP INDEX IF EXISTS "IX_MessageSearchEntries_Text_trgm";""");

            migrationBuilder.AddColumn<Guid>(
                name: "EnvironmentId",
                table: "MessageSearchEntries",
                type: "uuid",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.Sql("""
                UPDATE "MessageSearchEntries" AS e SET "EnvironmentId" = m."EnvironmentId"
                FROM "Messages" AS m WHERE m."Id" = e."MessageId";
                """);
            migrationBuilder.Sql("""
                CREATE INDEX "IX_MessageSearchEntries_EnvironmentId_Text_trgm" ON "MessageSearchEntries"
                USING gin ("EnvironmentId", "Text" gin_trgm_ops);
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""DROP INDEX IF EXISTS "IX_MessageSearchEntries_EnvironmentId_Text_trgm";""");

            migrationBuilder.DropColumn(
                name: "EnvironmentId",
                table: "MessageSearchEntries");

            migrationBuilder.Sql("""
                CREATE INDEX "IX_MessageSearchEntries_Text_trgm" ON "MessageSearchEntries" USING gin ("Text" gin_trgm_ops);
                """);
        }
    }
}
