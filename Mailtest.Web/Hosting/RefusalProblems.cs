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
        var status = (int)refusal.Status;
        http.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails = { Status = status, Title = refusal.Title ?? ReasonPhrases.GetReasonPhrase(status), Detail = refusal.Message },
        });
    }
}
