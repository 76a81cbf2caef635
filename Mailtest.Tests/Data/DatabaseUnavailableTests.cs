using Mailtest.Core.Data;
using Mailtest.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Mailtest.Tests.Data;

/// <summary>
/// The one rule for "the database is away for a moment" (answered 503/507 by the API, see
/// DatabaseOutageTests for a real PostgreSQL stopped under it): wrapped as EF Core wraps it, and not
/// confused with a fault of the request or of Mailtest.
/// </summary>
[TestCategory(Needs.Unit)]
public sealed class DatabaseUnavailableTests
{
    public static TheoryData<string, Exception, DatabaseFailure> Failures => new()
    {
        { "SQLite busy, wrapped by EF Core", new DbUpdateException("saving", new SqliteException("database is locked", 5)), DatabaseFailure.Unavailable },
        { "SQLite cannot open its file", new SqliteException("unable to open database file", 14), DatabaseFailure.Unavailable },
        { "SQLite disk full", new DbUpdateException("saving", new SqliteException("database or disk is full", 13)), DatabaseFailure.DiskFull },
        { "SQLite constraint", new DbUpdateException("saving", new SqliteException("UNIQUE constraint failed", 19)), DatabaseFailure.None },
        { "PostgreSQL unreachable", new InvalidOperationException("reading", new NpgsqlException("Failed to connect", new System.Net.Sockets.SocketException(111))), DatabaseFailure.Unavailable },
        { "a bug", new InvalidOperationException("Sequence contains no elements"), DatabaseFailure.None },
    };

    [Theory]
    [MemberData(nameof(Failures))]
#pragma warning disable xUnit1026 // "what" names the case in the test's display name
    public void A_failure_is_told_apart_by_what_caused_it(string what, Exception failure, DatabaseFailure expected) =>
        Assert.Equal(expected, DatabaseUnavailable.Of(failure));
#pragma warning restore xUnit1026
}
