using Mailtest.Core.Capture;
using Mailtest.Core.Tenancy;

namespace Mailtest.Web.Api;

public sealed record SmtpFaultTriggerBody(int? ReplyCode, int? Probability);
public sealed record SmtpFaultsBody(SmtpFaultTriggerBody? Authentication, SmtpFaultTriggerBody? Sender, SmtpFaultTriggerBody? Recipient);

/// <summary>An environment's SMTP fault injection; the rules are Core's (<see cref="SmtpFaultInjection"/>).</summary>
internal static class SmtpFaultEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var faults = api.MapGroup("/environments/{id:guid}/smtp-faults");

        faults.MapGet("", async (Guid id, HttpContext http, SmtpFaultInjection injection) =>
            Body(await injection.GetAsync(EnvironmentEndpoints.CallerOf(http), id, http.RequestAborted)));

        // A stage left out of the body is switched off, as Mailpit's PUT /api/v1/chaos does.
        faults.MapPut("", async (Guid id, SmtpFaultsBody? body, HttpContext http, SmtpFaultInjection injection) =>
        {
            if (body is null)
                throw new TenancyException("Send a JSON body like { \"recipient\": { \"replyCode\": 451, \"probability\": 50 } }; a stage left out is off.");
            var set = await injection.SetAsync(EnvironmentEndpoints.CallerOf(http), id,
                new SmtpFaults(Trigger(body.Authentication), Trigger(body.Sender), Trigger(body.Recipient)), http.RequestAborted);
            return Body(set);
        });
    }

    private static SmtpFaultTrigger Trigger(SmtpFaultTriggerBody? body) =>
        new(body?.ReplyCode ?? SmtpFaultTrigger.Off.ReplyCode, body?.Probability ?? 0);

    private static SmtpFaultsBody Body(SmtpFaults faults) => new(Body(faults.Authentication), Body(faults.Sender), Body(faults.Recipient));
    private static SmtpFaultTriggerBody Body(SmtpFaultTrigger trigger) => new(trigger.ReplyCode, trigger.Probability);
}
