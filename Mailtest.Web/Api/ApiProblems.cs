using Mailtest.Core.Capture;
using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;

namespace Mailtest.Web.Api;

/// <summary>Turns Core's refusals into RFC 7807 problem details carrying Core's own sentence.</summary>
internal sealed class ApiProblems : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception e) when (Answer(e) is { } answer)
        {
            return Results.Problem(statusCode: answer.Status, title: answer.Title, detail: e.Message);
        }
    }

    /// <summary>The status and title for one of Core's refusals, null for anything else (a 500); the Mailpit endpoints answer with the same status.</summary>
    public static (int Status, string Title)? Answer(Exception e) => e switch
    {
        NotFoundException => (StatusCodes.Status404NotFound, "Not found"),
        AccessDeniedException => (StatusCodes.Status403Forbidden, "Forbidden"),
        MailtestConflictException => (StatusCodes.Status409Conflict, "Conflict"),
        TenancyException => (StatusCodes.Status400BadRequest, "Bad request"),
        // Odoo could not be reached or changed: the upstream failed, nothing here is wrong with the request.
        MailtestRotationStuckException or OdooRoutingException => (StatusCodes.Status502BadGateway, "Odoo could not be updated"),
        _ => null,
    };
}
