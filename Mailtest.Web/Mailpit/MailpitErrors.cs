using Mailtest.Core;

namespace Mailtest.Web.Mailpit;

/// <summary>
/// Core's refusals as Mailpit answers errors: the refusal's own status with a plain-text sentence
/// instead of the API's problem details (Mailpit's clients put the body into their error message,
/// so the sentence reaches the test log).
/// </summary>
internal sealed class MailpitErrors : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (RefusalException refusal)
        {
            return MailpitEndpoints.Error((int)refusal.Status, refusal.Message);
        }
    }
}
