using Mailtest.Core.Tenancy;
using Mailtest.Core.Webhooks;
using Mailtest.Web.Webhooks;

namespace Mailtest.Web.Api;

public sealed record WebhookRequest(string? Url);
public sealed record WebhookDeliveryItem(Guid DeliveryId, string Event, Guid? MessageId, int Attempt, DateTime AttemptedAt, int? StatusCode, bool Succeeded, string Outcome, int DurationMs);
public sealed record WebhookResponse(string? Url, string? SecretPrefix, DateTime? UpdatedAt, IReadOnlyList<WebhookDeliveryItem> Deliveries);
public sealed record WebhookSetResponse(string Url, string? Secret);
public sealed record WebhookSecretResponse(string Secret);

/// <summary>An environment's webhook; the rules are Core's (<see cref="WebhookSettings"/>).</summary>
internal static class WebhookEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var webhook = api.MapGroup("/environments/{id:guid}/webhook");

        webhook.MapGet("", async (Guid id, HttpContext http, WebhookSettings settings) =>
        {
            var view = await settings.GetAsync(EnvironmentEndpoints.CallerOf(http), id, http.RequestAborted);
            return new WebhookResponse(view.Url, view.SecretPrefix, view.UpdatedUtc, [.. view.RecentDeliveries.Select(Item)]);
        });

        // The secret is in the answer only when the webhook is new; keep it, it is not shown again.
        webhook.MapPut("", async (Guid id, WebhookRequest? request, HttpContext http, WebhookSettings settings) =>
        {
            if (string.IsNullOrWhiteSpace(request?.Url))
                throw new TenancyException("Send a JSON body like { \"url\": \"https://ci.example.com/mailtest-hook\" }.");
            var secret = await settings.SetUrlAsync(EnvironmentEndpoints.CallerOf(http), id, request.Url, http.RequestAborted);
            var view = await settings.GetAsync(EnvironmentEndpoints.CallerOf(http), id, http.RequestAborted);
            return new WebhookSetResponse(view.Url!, secret);
        });

        webhook.MapPost("/secret", async (Guid id, HttpContext http, WebhookSettings settings) =>
            new WebhookSecretResponse(await settings.RegenerateSecretAsync(EnvironmentEndpoints.CallerOf(http), id, http.RequestAborted)));

        webhook.MapDelete("", async (Guid id, HttpContext http, WebhookSettings settings) =>
        {
            await settings.RemoveAsync(EnvironmentEndpoints.CallerOf(http), id, http.RequestAborted);
            return Results.NoContent();
        });

        webhook.MapPost("/test", async (Guid id, HttpContext http, WebhookDispatcher dispatcher) =>
            Item(await dispatcher.SendTestAsync(EnvironmentEndpoints.CallerOf(http), id, http.RequestAborted)));
    }

    private static WebhookDeliveryItem Item(WebhookDelivery d) =>
        new(d.DeliveryId, d.Event, d.MessageId, d.Attempt, d.AttemptedUtc, d.StatusCode, d.Succeeded, d.Outcome, d.DurationMs);
}
