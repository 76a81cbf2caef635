using Mailtest.Core.Messages;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Mailtest.Core.Data;

/// <summary>
/// The one model. Each capability adds its sets in its own partial file and its mapping in an
/// <see cref="IEntityTypeConfiguration{TEntity}"/> next to its entities. Each provider has a
/// subclass so that its migrations live apart (<see cref="SqliteMailtestDbContext"/>,
/// <see cref="PostgresMailtestDbContext"/>).
/// </summary>
public abstract partial class MailtestDbContext(DbContextOptions options) : DbContext(options)
{
    public bool IsSqlite => Database.ProviderName == "Microsoft.EntityFrameworkCore.Sqlite";

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(MailtestDbContext).Assembly);
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // UTC everywhere: SQLite gives DateTime back as Unspecified, Npgsql insists on UTC.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        toStore => toStore.Kind == DateTimeKind.Utc ? toStore : toStore.ToUniversalTime(),
        fromStore => DateTime.SpecifyKind(fromStore, DateTimeKind.Utc));
}

public sealed class SqliteMailtestDbContext(DbContextOptions<SqliteMailtestDbContext> options)
    : MailtestDbContext(options);

public sealed class PostgresMailtestDbContext(DbContextOptions<PostgresMailtestDbContext> options)
    : MailtestDbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        MessageSearchEntryConfiguration.ConfigurePostgres(modelBuilder.Entity<MessageSearchEntry>());
    }
}
