using Mailtest.Core.Retention;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Lifecycle;

/// <summary>Who may change organizations, members, grants, projects and environments.</summary>
[TestCategory(Needs.Postgres)]
public sealed class TenancyDirectoryTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly LifecycleWorld _world = new(postgres);

    public ValueTask InitializeAsync() => _world.InitializeAsync();
    public ValueTask DisposeAsync() => _world.DisposeAsync();

    private TenancyDirectory Directory => _world.Services.GetRequiredService<TenancyDirectory>();

    [Fact]
    public async Task Only_platform_administrators_create_organizations_and_change_plans()
    {
        var scene = await _world.SceneAsync();
        var admin = await _world.UserAsync(isPlatformAdmin: true);
        var adminCaller = new Caller(admin.Id, admin.Email, true);

        await Assert.ThrowsAsync<AccessDeniedException>(() => Directory.CreateOrganizationAsync(scene.Owner, "Mine", Plan.Agency, scene.Owner.Email));
        await Assert.ThrowsAsync<AccessDeniedException>(() => _world.Services.GetRequiredService<PlanChanges>().ChangeAsync(scene.Owner, scene.Organization.Id, Plan.Agency));
        await Assert.ThrowsAsync<TenancyException>(() => Directory.CreateOrganizationAsync(adminCaller, "Ghost", Plan.Pro, "nobody@example.test"));

        var created = await Directory.CreateOrganizationAsync(adminCaller, "Second client", Plan.Pro, scene.Owner.Email);
        await _world.Services.GetRequiredService<PlanChanges>().ChangeAsync(adminCaller, created.Id, Plan.Starter);

        var mine = await Directory.MyOrganizationsAsync(scene.Owner);
        Assert.Contains(mine, o => o.Id == created.Id && o.Role == OrganizationRole.Owner && o.Plan == Plan.Starter);
        Assert.Equal(2, mine.Count);
    }

    [Fact]
    public async Task Members_cannot_administer_and_owners_grant_per_project()
    {
        var scene = await _world.SceneAsync();
        var member = await _world.MemberAsync(scene.Organization.Id, OrganizationRole.Member);

        await Assert.ThrowsAsync<AccessDeniedException>(() => Directory.CreateProjectAsync(member, scene.Organization.Id, "Sneaky"));
        await Assert.ThrowsAsync<AccessDeniedException>(() => Directory.CreateEnvironmentAsync(member, scene.Project.Id, "dev", EnvironmentKind.Development));
        await Assert.ThrowsAsync<AccessDeniedException>(() => Directory.SetGrantAsync(member, scene.Project.Id, member.UserId, ProjectPermission.MailtestManage, true));
        Assert.Empty(await Directory.EnvironmentsAsync(member, scene.Organization.Id));

        await Directory.SetGrantAsync(scene.Owner, scene.Project.Id, member.UserId, ProjectPermission.MailtestView, true);

        Assert.Equal([scene.EnvironmentId], (await Directory.EnvironmentsAsync(member, scene.Organization.Id)).Select(e => e.Id));
        var listed = (await Directory.MembersAsync(scene.Owner, scene.Organization.Id)).Single(m => m.UserId == member.UserId);
        Assert.Equal([scene.Project.Id], listed.ViewedProjectIds);
        Assert.Empty(listed.ManagedProjectIds);
    }

    [Fact]
    public async Task Another_organization_is_invisible_and_the_last_owner_stays()
    {
        var mine = await _world.SceneAsync();
        var theirs = await _world.SceneAsync();

        await Assert.ThrowsAsync<NotFoundException>(() => Directory.MembersAsync(mine.Owner, theirs.Organization.Id));
        await Assert.ThrowsAsync<NotFoundException>(() => Directory.CreateEnvironmentAsync(mine.Owner, theirs.Project.Id, "x", EnvironmentKind.Staging));
        await Assert.ThrowsAsync<NotFoundException>(() => Directory.AddMemberAsync(mine.Owner, theirs.Organization.Id, mine.Owner.Email, OrganizationRole.Owner));
        var refused = await Assert.ThrowsAsync<TenancyException>(() => Directory.RemoveMemberAsync(mine.Owner, mine.Organization.Id, mine.Owner.UserId));
        Assert.Contains("at least one owner", refused.Message);
    }

    [Fact]
    public async Task An_admin_cannot_make_owners_but_an_owner_can()
    {
        var scene = await _world.SceneAsync();
        var admin = await _world.MemberAsync(scene.Organization.Id, OrganizationRole.Admin);
        var newcomer = await _world.UserAsync();

        await Assert.ThrowsAsync<AccessDeniedException>(() => Directory.AddMemberAsync(admin, scene.Organization.Id, newcomer.Email, OrganizationRole.Owner));
        await Directory.AddMemberAsync(admin, scene.Organization.Id, newcomer.Email, OrganizationRole.Member);
        await Directory.AddMemberAsync(scene.Owner, scene.Organization.Id, newcomer.Email, OrganizationRole.Owner);

        Assert.Equal(OrganizationRole.Owner, (await Directory.MembersAsync(scene.Owner, scene.Organization.Id)).Single(m => m.UserId == newcomer.Id).Role);
    }
}
