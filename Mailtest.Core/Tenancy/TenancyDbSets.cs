using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Core.Data;

public abstract partial class MailtestDbContext
{
    public DbSet<ProjectGrant> ProjectGrants => Set<ProjectGrant>();
    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();
}
