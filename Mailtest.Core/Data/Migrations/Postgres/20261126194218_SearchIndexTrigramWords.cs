using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mailtest.Core.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class SearchIndexTrigramWords : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {

        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {

        }
    }
}
