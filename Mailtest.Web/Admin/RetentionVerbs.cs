using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;

namespace Mailtest.Web.Admin;

/// <summary>Plans, usage and the retention purge from the command line (the command line acts as a platform administrator).</summary>
internal static class RetentionVerbs
{
    private static readonly Caller CommandLine = new(Guid.Empty, AdminVerbs.Actor, IsPlatformAdmin: true);

    public static AdminVerb ChangePlan(AdminArguments a)
    {
        a.Expect(1, "plan");
        var organizationId = a.IdAt(0, "ORG_ID");
        var plan = AdminArguments.ParseEnum<Plan>(a.RequiredOption("plan"), "plan");
        return async (services, output, ct) =>
        {
            var limits = await services.GetRequiredService<PlanChanges>().ChangeAsync(CommandLine, organizationId, plan, ct);
            var report = await services.GetRequiredService<PlanUsage>().GetAsync(CommandLine, organizationId, ct);
            var grace = limits.InGrace ? $"; {limits.GracePlan} limits apply until {limits.GraceEndsUtc:yyyy-MM-dd HH:mm} UTC (grace)" : "";
            await output.WriteAsync(report, $"Organization {report.Organization} is now on {limits.Plan}{grace}", ct);
        };
    }

    public static AdminVerb Usage(AdminArguments a)
    {
        a.Expect(1);
        var organizationId = a.IdAt(0, "ORG_ID");
        return async (services, output, ct) =>
        {
            var r = await services.GetRequiredService<PlanUsage>().GetAsync(CommandLine, organizationId, ct);
            var grace = r.InGrace ? $"\ngrace: {r.GracePlan} limits until {r.GraceEndsUtc:yyyy-MM-dd HH:mm} UTC, then {r.Plan}'s" : "";
            await output.WriteAsync(r, $"{r.Organization} ({r.Plan}): {r.Messages} of {r.MessageCap} messages, {r.Bytes} of {r.StorageCapBytes} bytes, " +
                $"kept {r.RetentionDays} days{grace}", ct);
        };
    }

    public static AdminVerb RunPurge(AdminArguments a)
    {
        a.Expect(0, "org");
        Guid? organizationId = a.Option("org") is { } text
            ? Guid.TryParse(text, out var id) ? id : throw new AdminUsageException("--org must be an organization id.")
            : null;
        return async (services, output, ct) =>
        {
            var report = await services.GetRequiredService<RetentionPurge>().RunAsync(organizationId, AdminVerbs.Actor, ct);
            var human = report.Organizations.Count == 0
                ? "Nothing to purge."
                : string.Join("\n", report.Organizations.Select(o =>
                    $"{o.Organization}: {o.Messages} messages deleted ({o.ByRetention} by retention, {o.ByCaps} over the caps), {o.Bytes} bytes"));
            await output.WriteAsync(report, human, ct);
        };
    }
}
