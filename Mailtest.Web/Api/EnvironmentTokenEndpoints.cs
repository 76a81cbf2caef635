using Mailtest.Core.Tenancy;

namespace Mailtest.Web.Api;

public sealed record CreateTokenRequest(string? Name, string? Scope);
public sealed record CreatedTokenResponse(Guid Id, string Token, string Scope);
public sealed record EnvironmentTokenView(Guid Id, string Name, string Scope, string Prefix, DateTime CreatedUtc, string? CreatedBy, DateTime? LastUsedUtc);

/// <summary>Environment API tokens for CI: create (shown once), list, revoke. Rules are Core's <see cref="ApiTokens"/>.</summary>
internal static class EnvironmentTokenEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var tokens = api.MapGroup("/environments/{id:guid}/tokens").WithTags("Environment tokens");

        tokens.MapGet("", async (Guid id, HttpContext http, ApiTokens apiTokens) =>
            (await apiTokens.ListForEnvironmentAsync(EnvironmentEndpoints.CallerOf(http), id, http.RequestAborted))
                .Select(t => new EnvironmentTokenView(t.Id, t.Name, ApiTokens.ScopeName(t.Scope), t.Prefix, t.CreatedUtc, t.CreatedBy, t.LastUsedUtc)))
            .WithSummary("The environment's API tokens (never the tokens themselves)");

        tokens.MapPost("", async (Guid id, CreateTokenRequest? request, HttpContext http, ApiTokens apiTokens) =>
        {
            var scope = ApiTokens.ParseScope(request?.Scope)
                ?? throw new TenancyException("Send a JSON body like { \"name\": \"CI\", \"scope\": \"read\" } (scope: read or read-write).");
            var created = await apiTokens.CreateForEnvironmentAsync(EnvironmentEndpoints.CallerOf(http), id, scope, request?.Name ?? "API token", http.RequestAborted);
            return new CreatedTokenResponse(created.Id, created.Token, ApiTokens.ScopeName(scope));
        }).WithSummary("Create an environment token (project.mailtest.manage); the token is in this answer only");

        tokens.MapDelete("/{tokenId:guid}", async (Guid id, Guid tokenId, HttpContext http, ApiTokens apiTokens) =>
        {
            await apiTokens.RevokeForEnvironmentAsync(EnvironmentEndpoints.CallerOf(http), id, tokenId, http.RequestAborted);
            return Results.NoContent();
        }).WithSummary("Revoke an environment token (project.mailtest.manage)");
    }
}
