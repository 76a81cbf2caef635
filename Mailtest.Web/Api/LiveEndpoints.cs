using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Mailtest.Core.Messages.Mailbox;
using Mailtest.Core.Tenancy;

namespace Mailtest.Web.Api;

/// <summary>What an SSE event carries: the message summary for <c>captured</c>, the message id for the others.</summary>
public sealed record MailboxEventView(string Type, Guid EnvironmentId, DateTime OccurredUtc, Guid? MessageId, MessageSummaryView? Message, bool? IsRead);

/// <summary>
/// The live side of the messages API: <c>GET .../messages/wait</c> (answered the moment a matching
/// message is stored, no polling) and <c>GET .../events</c> (Server-Sent Events with Last-Event-ID
/// resumption). Both check the caller's current access on every delivery.
/// </summary>
internal static class LiveEndpoints
{
    public const int DefaultWaitSeconds = 30, MaxWaitSeconds = 300;

    /// <param name="browserApi">The same /api/v1 prefix, also open to the signed-in dashboard cookie (EventSource sends no header).</param>
    public static void Map(RouteGroupBuilder api, RouteGroupBuilder browserApi)
    {
        api.MapGet("/environments/{id:guid}/messages/wait", WaitAsync).WithTags("Messages")
            .WithSummary("Wait for a message matching ?query= (answered the moment it is stored; 408 on timeout)")
            .WithDescription($"`timeout` in seconds (default {DefaultWaitSeconds}, at most {MaxWaitSeconds}). With `since` (an ISO 8601 time or a message id), a matching message stored after it answers at once. Without it, only a message stored after the call counts. A stored message that comes to match during the wait by being tagged (Mailpit's tag endpoints; a search with tag:) or marked read or unread (a search with is:read or is:unread) answers too, whenever it arrived.")
            .Produces<MessageSummaryView>().ProducesProblem(StatusCodes.Status408RequestTimeout);

        browserApi.MapGet("/environments/{id:guid}/events", EventsAsync).WithTags("Live events")
            .WithSummary("Server-Sent Events: captured, deleted, changed; resume with Last-Event-ID")
            .WithDescription($"Each event's `id` can be sent back as the `Last-Event-ID` header (browsers' EventSource does it by itself) or `?lastEventId=`; events of the last {MailboxEvents.ResumeWindow.TotalMinutes:0} minutes are replayed. A `reset` event means some could not be: reload the list.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");
    }

    private static async Task<IResult> WaitAsync(Guid id, string? query, int? timeout, string? since, HttpContext http,
        MessageWaiter waiter, EnvironmentMailbox mailbox)
    {
        var seconds = timeout ?? DefaultWaitSeconds;
        if (seconds is < 1 or > MaxWaitSeconds)
            throw new TenancyException($"timeout is in seconds, from 1 to {MaxWaitSeconds}.");
        var caller = EnvironmentEndpoints.CallerOf(http);
        var sinceUtc = await SinceAsync(caller, id, since, mailbox, http.RequestAborted);
        var found = await waiter.WaitAsync(caller, id, query, sinceUtc, TimeSpan.FromSeconds(seconds), http.RequestAborted);
        if (found is not null) return TypedResults.Ok(MessageEndpoints.Summary(found));
        var what = string.IsNullOrWhiteSpace(query) ? "No message" : $"No message matching '{query.Trim()}'";
        return TypedResults.Problem(statusCode: StatusCodes.Status408RequestTimeout, title: "No message yet",
            detail: $"{what} arrived within {seconds} s. Check that the application sent it to this environment, or wait longer with ?timeout=.");
    }

    /// <summary><c>since</c>: an ISO 8601 time, or the id of a message (what arrived after it).</summary>
    private static async Task<DateTime?> SinceAsync(Caller caller, Guid environmentId, string? since, EnvironmentMailbox mailbox, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(since)) return null;
        if (Guid.TryParse(since, out var messageId))
            return (await mailbox.GetAsync(caller, environmentId, new MessageRef(messageId), cancellationToken: cancellationToken)).ReceivedUtc;
        if (DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            return time.UtcDateTime;
        throw new TenancyException("since must be an ISO 8601 time (2026-11-26T14:00:00Z) or a message id.");
    }

    private static async Task<IResult> EventsAsync(Guid id, HttpContext http, AccessRules access, MailboxEvents events, LiveMailAccess live,
        [Microsoft.AspNetCore.Mvc.FromHeader(Name = "Last-Event-ID")] string? lastEventIdHeader, string? lastEventId)
    {
        var caller = EnvironmentEndpoints.CallerOf(http);
        await access.RequireMailAsync(caller, id, MailAccess.Read, http.RequestAborted);
        var text = lastEventIdHeader ?? lastEventId;
        long? last = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
        var stream = events.Open(id, last);
        http.Response.Headers.CacheControl = "no-cache, no-store";
        return TypedResults.ServerSentEvents(Stream(stream, caller, id, live, http.RequestAborted));
    }

    private static async IAsyncEnumerable<SseItem<MailboxEventView?>> Stream(MailboxStream stream, Caller caller, Guid environmentId, LiveMailAccess live,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using (stream)
        {
            // Sent at once, without an id (a reconnecting browser keeps its last one): the stream is open and subscribed.
            yield return new SseItem<MailboxEventView?>(null, "ready");
            if (stream.Incomplete) yield return new SseItem<MailboxEventView?>(null, "reset");
            foreach (var replayed in stream.Replay)
            {
                if (!await live.MayReadAsync(caller, environmentId, cancellationToken)) yield break;
                yield return Item(replayed);
            }
            await foreach (var next in stream.Live.ReadAllAsync(cancellationToken))
            {
                // Current access on every delivery: a revoked token or member stops receiving at once.
                if (!await live.MayReadAsync(caller, environmentId, cancellationToken)) yield break;
                yield return Item(next);
            }
        }
    }

    private static SseItem<MailboxEventView?> Item(MailboxEvent e) =>
        new(new MailboxEventView(e.Type, e.EnvironmentId, e.OccurredUtc, e.MessageId, e.Message is null ? null : MessageEndpoints.Summary(e.Message), e.IsRead), e.Type)
        {
            EventId = e.Id.ToString(CultureInfo.InvariantCulture),
        };
}
