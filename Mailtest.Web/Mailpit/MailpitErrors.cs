using Mailtest.Web.Api;

namespace Mailtest.Web.Mailpit;

/// <summary>
/// Core's refusals as Mailpit answers errors: the API's status (<see cref="ApiProblems.Answer"/>) with
/// a plain-text sentence instead of problem details (Mailpit's clients put the body into their error
/// message, so the sentence reaches the test log).
/// </summary>
internal sealed class MailpitErrors : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception e) when (ApiProblems.Answer(e) is { } answer)
        {
            return MailpitEndpoints.Error(answer.Status, e.Message);
        }
    }
}
