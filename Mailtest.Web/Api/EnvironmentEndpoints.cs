using System.Security.Claims;
using Mailtest.Core.Capture;
using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Accounts;

namespace Mailtest.Web.Api;

public sealed record EnvironmentItem(Guid Id, string Name, string Kind, Guid ProjectId, string Project, Guid OrganizationId, string Organization, string Mailtest);
public sealed record MailtestStatusResponse(Guid EnvironmentId, string Environment, string Kind, string State, bool IsRotating, string? TamperReason,
    string Host, int Port, string Encryption, string? Username, int CapturedMessages, bool CanManage, string? CannotEnableBecause);
public sealed record EnableResponse(string Host, int Port, string Encryption, string Username, string Password);
public sealed record RotateResponse(string Username, string Password);
public sealed record DisableResponse(int KeptMessages, DateTime KeptUntil);
public sealed record KillSwitchRequest(bool? Enabled);
public sealed record OdooConnectionRequest(int? Version, string? ConnectionString);
public sealed record KillSwitchResponse(bool Enabled);

/// <summary>Environments and the Mailtest lifecycle; every rule is Core's (<see cref="MailtestLifecycle"/>).</summary>
internal static class EnvironmentEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/environments", async (HttpContext http, AccessRules access) =>
            (await access.ViewableEnvironmentsAsync(CallerOf(http), http.RequestAborted)).Select(e => new EnvironmentItem(
                e.Id, e.Name, Name(e.Kind), e.ProjectId, e.Project!.Name, e.Project.OrganizationId, e.Project.Organization!.Name, Name(e.MailtestState))));

        var mailtest = api.MapGroup("/environments/{id:guid}/mailtest");

        mailtest.MapGet("", async (Guid id, HttpContext http, MailtestLifecycle lifecycle) =>
        {
            var s = await lifecycle.GetStatusAsync(CallerOf(http), id, http.RequestAborted);
            return new MailtestStatusResponse(s.EnvironmentId, s.EnvironmentName, Name(s.Kind), Name(s.State), s.IsRotating, s.TamperReason,
                s.Host, s.Port, MailtestLifecycle.Encryption, s.Username, s.CapturedMessages, s.CallerCanManage, s.EnableRefusal?.Message);
        });

        mailtest.MapPost("/enable", async (Guid id, HttpContext http, MailtestLifecycle lifecycle) =>
        {
            var e = await lifecycle.EnableAsync(CallerOf(http), id, http.RequestAborted);
            return new EnableResponse(e.Host, e.Port, e.Encryption, e.Username, e.Password);
        });

        mailtest.MapPost("/rotate", async (Guid id, HttpContext http, MailtestLifecycle lifecycle) =>
        {
            var r = await lifecycle.RotateAsync(CallerOf(http), id, http.RequestAborted);
            return new RotateResponse(r.Username, r.Password);
        });

        mailtest.MapPost("/rotate/retry", async (Guid id, HttpContext http, MailtestLifecycle lifecycle) =>
        {
            var r = await lifecycle.RetryRotationAsync(CallerOf(http), id, http.RequestAborted);
            return new RotateResponse(r.Username, r.Password);
        });

        mailtest.MapPost("/rotate/abort", async (Guid id, HttpContext http, MailtestLifecycle lifecycle) =>
        {
            await lifecycle.AbortRotationAsync(CallerOf(http), id, http.RequestAborted);
            return Results.NoContent();
        });

        mailtest.MapPost("/disable", async (Guid id, HttpContext http, MailtestLifecycle lifecycle) =>
        {
            var d = await lifecycle.DisableAsync(CallerOf(http), id, http.RequestAborted);
            return new DisableResponse(d.KeptMessages, d.KeptUntilUtc);
        });

        // The Odoo connection is write-only: it is sealed at rest and never returned.
        api.MapPut("/environments/{id:guid}/odoo", async (Guid id, OdooConnectionRequest? request, HttpContext http, OdooConnectionSettings settings) =>
        {
            if (request?.Version is not { } version || string.IsNullOrWhiteSpace(request.ConnectionString))
                throw new TenancyException("Send a JSON body like { \"version\": 17, \"connectionString\": \"Host=...;Database=...;Username=...;Password=...\" }.");
            await settings.SetAsync(CallerOf(http), id, version, request.ConnectionString, http.RequestAborted);
            return Results.NoContent();
        });

        api.MapDelete("/environments/{id:guid}/odoo", async (Guid id, HttpContext http, OdooConnectionSettings settings) =>
        {
            await settings.ClearAsync(CallerOf(http), id, http.RequestAborted);
            return Results.NoContent();
        });

        api.MapPut("/admin/kill-switch", async (KillSwitchRequest? request, HttpContext http, MailtestLifecycle lifecycle) =>
        {
            if (request?.Enabled is not { } enabled)
                throw new TenancyException("Send a JSON body like { \"enabled\": true }.");
            await lifecycle.SetKillSwitchAsync(CallerOf(http), enabled, http.RequestAborted);
            return new KillSwitchResponse(enabled);
        });
    }

    internal static Caller CallerOf(HttpContext http) =>
        CallerClaims.ToCaller(http.User, http.Connection.RemoteIpAddress?.ToString())
        ?? throw new AccessDeniedException("Send an API token as 'Authorization: Bearer <token>'.");

    private static string Name<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant() switch
    {
        "tamperdetected" => "tamper-detected",
        var name => name,
    };
}
