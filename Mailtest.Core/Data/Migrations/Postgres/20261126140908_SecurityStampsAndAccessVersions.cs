using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mailtest.Core.Data.Migrations.Postgres
{
    /// <summary>
    /// Security stamps, access versions and deactivation for users. The old hard lockout columns go
    /// (a lock a stranger could trigger, replaced by SignInThrottle); they are dropped, not renamed,
    /// so that nobody locked out today wakes up deactivated. Existing users get an empty stamp, which
    /// no cookie minted before this version carries: everyone signs in once more.
    /// </summary>
    public partial class SecurityStampsAndAccessVersions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(name: "FailedSignInCount", table: "Users");
            migrationBuilder.DropColumn(name: "LockedOutUntilUtc", table: "Users");
            migrationBuilder.AddColumn<long>(name: "AccessVersion", table: "Users", type: "bigint", nullable: false, defaultValue: 0L);
            migrationBuilder.AddColumn<DateTime>(name: "DeactivatedUtc", table: "Users", type: "timestamp with time zone", nullable: true);
            migrationBuilder.AddColumn<string>(name: "SecurityStamp", table: "Users", type: "character varying(64)", maxLength: 64, nullable: false, defaultValue: "");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(name: "SecurityStamp", table: "Users");
            migrationBuilder.DropColumn(name: "DeactivatedUtc", table: "Users");
            migrationBuilder.DropColumn(name: "AccessVersion", table: "Users");
            migrationBuilder.AddColumn<int>(name: "FailedSignInCount", table: "Users", type: "integer", nullable: false, defaultValue: 0);
            migrationBuilder.AddColumn<DateTime>(name: "LockedOutUntilUtc", table: "Users", type: "timestamp with time zone", nullable: true);
        }
    }
}
