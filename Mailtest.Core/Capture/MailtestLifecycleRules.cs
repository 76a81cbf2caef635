using System.Net;
using Mailtest.Core.Tenancy;

namespace Mailtest.Core.Capture;

/// <summary>The changes a user can make to Mailtest on one environment.</summary>
public enum MailtestTransition
{
    Enable = 0,
    Rotate = 1,
    RetryRotation = 2,
    AbortRotation = 3,
    Disable = 4,
}

/// <summary>What the rules need to know about an environment and the caller.</summary>
public sealed record MailtestFacts(EnvironmentKind Kind, Plan Plan, bool PlanIncludesMailtest, bool CallerCanManage, MailtestState State, bool IsRotating);

/// <summary>Why a transition is refused: <see cref="IsPermission"/> answers 403, otherwise the state conflicts (409).</summary>
public sealed record MailtestRefusal(string Message, bool IsPermission);

/// <summary>
/// The one rule set for every Mailtest transition. The dashboard uses it to explain a disabled
/// button, the lifecycle (and so the API) to refuse. Turning Mailtest off stays possible after a
/// downgrade to Free, so that nobody is stuck with capture they can no longer manage.
/// </summary>
public static class MailtestLifecycleRules
{
    public const string ProductionRefused = "Mailtest cannot be enabled on production environments: the platform blocks it to protect your real customers.";
    public const string PermissionRefused = AccessRules.ManagePermissionMissing;

    public static string PlanRefused(Plan plan) =>
        $"Mailtest is not available on the {plan} plan: it needs Starter, Pro or Agency. Ask a platform administrator to change the organization's plan.";

    /// <summary>
    /// "Mailtest is available on this environment": never on production, only on a plan that includes it.
    /// The transitions that open capture ask here, and so does SMTP AUTH on every login.
    /// </summary>
    public static MailtestRefusal? Availability(EnvironmentKind kind, Plan plan, bool planIncludesMailtest) =>
        kind == EnvironmentKind.Production ? new(ProductionRefused, true)
        : !planIncludesMailtest ? new(PlanRefused(plan), true)
        : null;

    public static MailtestRefusal? Check(MailtestTransition transition, MailtestFacts facts)
    {
        var opensCapture = transition is MailtestTransition.Enable or MailtestTransition.Rotate or MailtestTransition.RetryRotation;
        if (opensCapture && Availability(facts.Kind, facts.Plan, facts.PlanIncludesMailtest) is { } unavailable) return unavailable;
        if (!facts.CallerCanManage) return new(PermissionRefused, true);

        return transition switch
        {
            MailtestTransition.Enable when facts.State == MailtestState.Enabled =>
                new("Mailtest is already enabled on this environment; rotate the credentials to get a new password.", false),
            MailtestTransition.Rotate when facts.State != MailtestState.Enabled =>
                new(facts.State == MailtestState.TamperDetected
                    ? "Odoo's mail settings were changed behind Mailtest's back: re-enable Mailtest to fix them before rotating."
                    : "Mailtest is not enabled on this environment; enable it first.", false),
            MailtestTransition.Rotate when facts.IsRotating =>
                new("A rotation is already in progress on this environment: retry it or abort it.", false),
            MailtestTransition.RetryRotation or MailtestTransition.AbortRotation when !facts.IsRotating =>
                new("No rotation is in progress on this environment.", false),
            MailtestTransition.Disable when facts.State == MailtestState.Disabled =>
                new("Mailtest is already disabled on this environment.", false),
            _ => null,
        };
    }
}

/// <summary>How an environment's Mailtest state reads on the dashboard (the environments list and the Mailtest tab).</summary>
public static class MailtestStateText
{
    public static string Of(MailtestState state, bool isRotating, EnvironmentKind kind) => state switch
    {
        MailtestState.Enabled when isRotating => "Rotation in progress",
        MailtestState.Enabled => "Enabled",
        MailtestState.TamperDetected => "Tamper detected",
        _ when kind == EnvironmentKind.Production => "Not available (production)",
        _ => "Disabled",
    };
}

/// <summary>A transition refused because of the environment's current state (HTTP 409).</summary>
public sealed class MailtestConflictException(string message) : RefusalException(HttpStatusCode.Conflict, message);

/// <summary>
/// The rotation could not finish (Odoo could not be updated): the environment stays in
/// "Rotation in progress" with Retry and Abort, and the old password still works in Odoo.
/// </summary>
public sealed class MailtestRotationStuckException(string message, Exception inner) : RefusalException(HttpStatusCode.BadGateway, message, Odoo.OdooRoutingException.ProblemTitle, inner);
