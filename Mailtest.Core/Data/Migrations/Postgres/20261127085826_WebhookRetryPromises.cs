using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mailtest.Core.Data.Migrations.Postgres
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
                type: "timestamp with time zone",
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
