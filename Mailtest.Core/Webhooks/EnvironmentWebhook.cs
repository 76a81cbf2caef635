using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Mailtest.Core.Webhooks;

/// <summary>Where an environment's captured-message notifications go. One per environment.</summary>
public sealed class EnvironmentWebhook
{
    public Guid EnvironmentId { get; set; }
    public required string Url { get; set; }
    /// <summary>The signing secret, sealed with the installation key: it must be read back to sign, so it cannot be a hash.</summary>
    public required byte[] SecretSealed { get; set; }
    /// <summary>The first characters of the secret, so the page can say which one is in use.</summary>
    public required string SecretPrefix { get; set; }
    public DateTime UpdatedUtc { get; set; }
}

/// <summary>One attempt to deliver one notification, for the delivery log on the environment page.</summary>
public sealed class WebhookDelivery
{
    public long Id { get; set; }
    public Guid EnvironmentId { get; set; }
    /// <summary>Shared by the attempts of one notification (the <c>Mailtest-Delivery</c> header), so receivers can drop duplicates.</summary>
    public Guid DeliveryId { get; set; }
    /// <summary><c>message.captured</c> or <c>webhook.test</c>.</summary>
    public required string Event { get; set; }
    public Guid? MessageId { get; set; }
    public int Attempt { get; set; }
    public DateTime AttemptedUtc { get; set; }
    /// <summary>The receiver's HTTP status, or null when no answer came (timeout, refused, unreachable).</summary>
    public int? StatusCode { get; set; }
    public bool Succeeded { get; set; }
    /// <summary>What happened, in words: "200 OK", "timed out after 10 s; retrying in 20 s", "gave up after 8 attempts".</summary>
    public required string Outcome { get; set; }
    public int DurationMs { get; set; }
    /// <summary>
    /// Set exactly when this attempt promised a retry ("retrying in 20 s"): when it is due. The promise outlives the
    /// process; a node takes it by moving it past the attempt (<see cref="WebhookDeliveryLog.ClaimAsync"/>), and
    /// logging the next attempt clears it.
    /// </summary>
    public DateTime? NextAttemptUtc { get; set; }
}

internal sealed class EnvironmentWebhookConfiguration : IEntityTypeConfiguration<EnvironmentWebhook>
{
    public void Configure(EntityTypeBuilder<EnvironmentWebhook> b)
    {
        b.HasKey(w => w.EnvironmentId);
        b.Property(w => w.Url).HasMaxLength(WebhookSettings.MaxUrlLength);
        b.Property(w => w.SecretPrefix).HasMaxLength(16);
        b.HasOne<ProjectEnvironment>().WithMany().HasForeignKey(w => w.EnvironmentId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class WebhookDeliveryConfiguration : IEntityTypeConfiguration<WebhookDelivery>
{
    public void Configure(EntityTypeBuilder<WebhookDelivery> b)
    {
        b.Property(d => d.Event).HasMaxLength(40);
        b.Property(d => d.Outcome).HasMaxLength(300);
        b.HasIndex(d => new { d.EnvironmentId, d.Id });
        b.HasOne<ProjectEnvironment>().WithMany().HasForeignKey(d => d.EnvironmentId).OnDelete(DeleteBehavior.Cascade);
    }
}
