using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mailtest.Core.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class WebhookRetryPromises : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "NextAttemptUtc",
                table: "WebhookDeliveries",
                type: "TEXT",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "NextAttemptUtc",
                table: "WebhookDeliveries");
        }
    }
}
