using Mailtest.Core;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;

namespace Mailtest.Web.Hosting;

/// <summary>
/// The HTTP side's one mapping of Core's refusals: RFC 9457 problem details with the refusal's
/// status, its title and its sentence as the detail. A database away for a moment is <see cref="DatabaseUnavailableProblems"/>; anything else is not handled here (a 500).
/// </summary>
internal sealed class RefusalProblems(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not RefusalException refusal) return false;
        return await WriteAsync(problems, http, exception, (int)refusal.Status, refusal.Title, refusal.Message);
    }

    /// <summary>Answers <paramref name="http"/> with <paramref name="status"/> as problem details: the title (the status's reason phrase when none) and the sentence.</summary>
    internal static async ValueTask<bool> WriteAsync(IProblemDetailsService problems, HttpContext http, Exception exception, int status, string? title, string detail)
    {
        http.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title ?? ReasonPhrases.GetReasonPhrase(status), Detail = detail },
        });
    }
}
