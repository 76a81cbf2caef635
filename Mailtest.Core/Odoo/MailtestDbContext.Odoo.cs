using Mailtest.Core.Odoo;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Data;

public abstract partial class MailtestDbContext
{
    public DbSet<OdooRoutingSnapshot> OdooRoutingSnapshots => Set<OdooRoutingSnapshot>();
}
