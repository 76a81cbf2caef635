using Mailtest.Core.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Data;

public abstract partial class MailtestDbContext
{
    public DbSet<EnvironmentWebhook> EnvironmentWebhooks => Set<EnvironmentWebhook>();
    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();
}
