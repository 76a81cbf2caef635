using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Mailtest.Core.Data;

// Used only by `dotnet ef migrations add` (scripts/regenerate-migrations.sh); the connection is never opened.
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteMailtestDbContext>
{
    public SqliteMailtestDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteMailtestDbContext>().UseSqlite("Data Source=design-time.db").Options);
}

internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresMailtestDbContext>
{
    public PostgresMailtestDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresMailtestDbContext>().UseNpgsql("Host=design-time").Options);
}
