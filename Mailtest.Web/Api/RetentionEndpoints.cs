using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Accounts;

namespace Mailtest.Web.Api;

public sealed record PlanChangeRequest(string? Plan);

/// <summary>Usage against the plan, plan changes and the purge on demand; every rule is Core's.</summary>
internal static class RetentionEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/organizations/{id:guid}/usage", async (Guid id, HttpContext http, PlanUsage usage) =>
            await usage.GetAsync(CallerOf(http), id, http.RequestAborted));

        api.MapPut("/admin/organizations/{id:guid}/plan", async (Guid id, PlanChangeRequest? request, HttpContext http, PlanChanges changes, PlanUsage usage) =>
        {
            if (request?.Plan is not { } name || !Enum.TryParse<Plan>(name, ignoreCase: true, out var plan) || !Enum.IsDefined(plan) || int.TryParse(name, out _))
                throw new TenancyException("Send a JSON body like { \"plan\": \"Starter\" } (Free, Starter, Pro or Agency).");
            var caller = CallerOf(http);
            await changes.ChangeAsync(caller, id, plan, http.RequestAborted);
            return await usage.GetAsync(caller, id, http.RequestAborted);
        });

        api.MapPost("/admin/purge", async (Guid? organizationId, HttpContext http, RetentionPurge purge) =>
            await purge.RunAsync(CallerOf(http), organizationId, http.RequestAborted));
    }

    private static Caller CallerOf(HttpContext http) =>
        CallerClaims.ToCaller(http.User, http.Connection.RemoteIpAddress?.ToString())
        ?? throw new AccessDeniedException("Send an API token as 'Authorization: Bearer <token>'.");
}
