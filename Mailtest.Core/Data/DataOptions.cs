namespace Mailtest.Core.Data;

public enum DatabaseProvider
{
    Sqlite = 0,
    Postgres = 1,
}

/// <summary>Where Mailtest keeps its state. Bound from <c>Mailtest:Data</c>.</summary>
public sealed class DataOptions
{
    public const string Section = "Mailtest:Data";

    /// <summary>Holds the SQLite database, the generated keys, the TLS certificate and the SMTP spool.
    /// Relative paths are resolved against the working directory.</summary>
    public string Directory { get; set; } = "data";
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;
    /// <summary>Required for PostgreSQL; for SQLite defaults to <c>{Directory}/mailtest.db</c>.</summary>
    public string? ConnectionString { get; set; }

    public string FullDirectory => Path.GetFullPath(Directory);

    public string EffectiveConnectionString => Provider switch
    {
        DatabaseProvider.Sqlite => ConnectionString
            ?? $"Data Source={Path.Combine(FullDirectory, "mailtest.db")};Pooling=True",
        DatabaseProvider.Postgres => ConnectionString
            ?? throw new InvalidOperationException("Mailtest:Data:ConnectionString is required when Mailtest:Data:Provider is Postgres."),
        _ => throw new InvalidOperationException($"Unknown database provider {Provider}."),
    };
}
