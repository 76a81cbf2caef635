using Mailtest.Core.Data;
using Microsoft.AspNetCore.Diagnostics;

namespace Mailtest.Web.Hosting;

/// <summary>
/// A request that failed because the database is away (stopped, restarting, locked) or its disk is full is
/// answered as such, with a sentence and when to try again: 503 with Retry-After, or 507, as RFC 9457 problem
/// details. Not a 500: nothing is wrong with the request or with Mailtest, and clients (test automation) retry.
/// </summary>
internal sealed class DatabaseUnavailableProblems(IProblemDetailsService problems) : IExceptionHandler
{
    private const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        var (status, detail) = DatabaseUnavailable.Of(exception) switch
        {
            DatabaseFailure.Unavailable => (StatusCodes.Status503ServiceUnavailable, $"Mailtest cannot reach its database right now; try again in {RetryAfterSeconds} seconds."),
            DatabaseFailure.DiskFull => (StatusCodes.Status507InsufficientStorage, "Mailtest's disk is full, so nothing could be stored; free some space and try again."),
            _ => (0, null),
        };
        if (detail is null) return false;
        if (status == StatusCodes.Status503ServiceUnavailable) http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await RefusalProblems.WriteAsync(problems, http, exception, status, title: null, detail);
    }
}
