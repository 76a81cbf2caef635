using Mailtest.Core.Exports;
using Mailtest.Core.Tenancy;
using Mailtest.Web.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Mailtest.Web.Api;

public sealed record ExportResponse(Guid Id, Guid OrganizationId, Guid? EnvironmentId, string State, int TotalMessages, int ExportedMessages,
    long SizeBytes, DateTime RequestedUtc, DateTime? CompletedUtc, DateTime? ExpiresUtc, string? Link, string? Error);

/// <summary>"Download all as .zip" for scripts, and the signed download link itself.</summary>
internal static class ExportEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/environments/{id:guid}/exports", async (Guid id, HttpContext http, MessageExports exports) =>
            Accepted(http, await exports.RequestForEnvironmentAsync(CallerOf(http), id, http.RequestAborted)));

        api.MapPost("/organizations/{id:guid}/exports", async (Guid id, HttpContext http, MessageExports exports) =>
            Accepted(http, await exports.RequestForOrganizationAsync(CallerOf(http), id, http.RequestAborted)));

        api.MapGet("/exports/{id:guid}", async (Guid id, HttpContext http, MessageExports exports) =>
            ResponseOf(http, await exports.GetAsync(CallerOf(http), id, http.RequestAborted)));
    }

    /// <summary>
    /// The link from the page and the email. The signature alone opens nothing: the caller must be the
    /// requester, signed in (a browser, redirected to sign in first) or with an API token (a script).
    /// </summary>
    public static void MapDownload(IEndpointRouteBuilder app)
    {
        app.MapGet("/exports/{id:guid}/download", async (Guid id, string? expires, string? sig, HttpContext http, MessageExports exports) =>
        {
            var user = http.User;
            if (http.Request.Headers.Authorization.Count > 0)
                user = (await http.AuthenticateAsync(ApiTokenAuthentication.SchemeName)).Principal ?? new();
            if (CallerClaims.ToCaller(user, http.Connection.RemoteIpAddress?.ToString()) is not { } caller)
                return http.Request.Headers.Authorization.Count > 0
                    ? Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: "The API token is not valid.")
                    : Results.Challenge(authenticationSchemes: [CookieAuthenticationDefaults.AuthenticationScheme]);
            try
            {
                var (path, fileName) = await exports.OpenDownloadAsync(caller, id, expires, sig, http.RequestAborted);
                return Results.File(path, "application/zip", fileName, enableRangeProcessing: true);
            }
            catch (ExportLinkExpiredException e)
            {
                return Results.Problem(statusCode: StatusCodes.Status410Gone, title: "Gone", detail: e.Message);
            }
            catch (NotFoundException e)
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: e.Message);
            }
        }).AllowAnonymous();
    }

    private static IResult Accepted(HttpContext http, ExportStatus status) =>
        Results.Accepted($"/api/v1/exports/{status.Id}", ResponseOf(http, status));

    private static ExportResponse ResponseOf(HttpContext http, ExportStatus s) => new(
        s.Id, s.OrganizationId, s.EnvironmentId, s.State.ToString().ToLowerInvariant(), s.TotalMessages, s.ExportedMessages, s.SizeBytes,
        s.RequestedUtc, s.CompletedUtc, s.ExpiresUtc,
        s.Link is null ? null : $"{http.Request.Scheme}://{http.Request.Host}{s.Link}", s.Error);

    private static Caller CallerOf(HttpContext http) =>
        CallerClaims.ToCaller(http.User, http.Connection.RemoteIpAddress?.ToString())
        ?? throw new AccessDeniedException("Send an API token as 'Authorization: Bearer <token>'.");
}
