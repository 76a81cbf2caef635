using Microsoft.Data.Sqlite;
using Npgsql;

namespace Mailtest.Core.Data;

/// <summary>What a database failure means for the one who asked: nothing to do with the request, or try again later.</summary>
public enum DatabaseFailure
{
    /// <summary>Not a failure of the database's availability (a bug, a constraint): a fault.</summary>
    None,
    /// <summary>The database cannot be reached or is busy right now (PostgreSQL stopped or restarting, a connection dropped, SQLite's file locked or unreadable).</summary>
    Unavailable,
    /// <summary>The database's disk is full.</summary>
    DiskFull,
}

/// <summary>
/// One rule, for every door, for telling a database that is away for a moment from a fault of Mailtest:
/// the former is answered "try again later" (HTTP 503 or 507), never as an internal error.
/// </summary>
public static class DatabaseUnavailable
{
    private const int SqliteBusy = 5, SqliteLocked = 6, SqliteIoError = 10, SqliteFull = 13, SqliteCannotOpen = 14;
    private const string PostgresDiskFull = "53100";

    public static DatabaseFailure Of(Exception exception)
    {
        // EF Core and the providers wrap what happened; the cause is somewhere down the chain.
        for (var cause = exception; cause is not null; cause = cause.InnerException)
        {
            switch (cause)
            {
                case PostgresException { SqlState: PostgresDiskFull }:
                    return DatabaseFailure.DiskFull;
                case NpgsqlException { IsTransient: true }:
                    return DatabaseFailure.Unavailable;
                case SqliteException { SqliteErrorCode: SqliteFull }:
                    return DatabaseFailure.DiskFull;
                case SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked or SqliteIoError or SqliteCannotOpen }:
                    return DatabaseFailure.Unavailable;
            }
        }
        return DatabaseFailure.None;
    }
}
