using Mailtest.Core.Tenancy;

namespace Mailtest.Web.Mailpit;

/// <summary>
/// Core's refusals as Mailpit answers errors: the status and a plain-text sentence (Mailpit's clients
/// put the body into their error message, so the sentence reaches the test log).
/// </summary>
internal sealed class MailpitErrors : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception e) when (Status(e) is { } status)
        {
            return Results.Text(e.Message, "text/plain; charset=utf-8", statusCode: status);
        }
    }

    private static int? Status(Exception e) => e switch
    {
        NotFoundException => StatusCodes.Status404NotFound,
        AccessDeniedException => StatusCodes.Status403Forbidden,
        TenancyException => StatusCodes.Status400BadRequest,
        _ => null,
    };
}
