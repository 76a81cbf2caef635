namespace Mailtest.Web.Webhooks;

/// <summary>Webhook delivery. Bound from <c>Mailtest:Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Mailtest:Webhooks";

    /// <summary>
    /// Off by default: a webhook URL is typed by a user, so without this a member of any organization
    /// could make the server post to its own loopback or private network (SSRF). A self-hosted sandbox
    /// whose CI listens on an internal host turns it on.
    /// </summary>
    public bool AllowPrivateAddresses { get; set; }
    /// <summary>The address people reach this installation at; links in the payload start with it.</summary>
    public string PublicUrl { get; set; } = "http://localhost:5000";
    /// <summary>How long one attempt may take (connect, send, answer).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>The wait before the first retry; each later wait doubles, up to <see cref="MaxRetryInterval"/>.</summary>
    public TimeSpan FirstRetryAfter { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan MaxRetryInterval { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>No attempt starts later than this after the first one; then the delivery is given up.</summary>
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromHours(1);
    /// <summary>Deliveries in flight at once, across environments.</summary>
    public int Concurrency { get; set; } = 8;
    /// <summary>Notifications waiting for a free slot; past this, new ones are logged as dropped (ingest never waits) and
    /// retries stay promised in the delivery log for the sweep (<see cref="SweepEvery"/>).</summary>
    public int QueueCapacity { get; set; } = 10_000;
    /// <summary>
    /// How often a running server looks in the delivery log for due retries that no node holds: promised by a node that
    /// stopped, claimed by one that died mid-attempt, or that the full queue could not take.
    /// </summary>
    public TimeSpan SweepEvery { get; set; } = TimeSpan.FromMinutes(1);
}
