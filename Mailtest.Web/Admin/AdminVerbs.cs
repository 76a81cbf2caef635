using Mailtest.Core.Audit;
using Mailtest.Core.Capture;
using Mailtest.Core.Data;
using Mailtest.Core.Messages;
using Mailtest.Core.Odoo;
using Mailtest.Core.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Mailtest.Web.Admin;

/// <summary>One verb, its arguments already checked, ready to run against the host's services.</summary>
public delegate Task AdminVerb(IServiceProvider services, AdminOutput output, CancellationToken cancellationToken);

/// <summary>The verbs of the admin command line. Each checks its arguments before any service is built.</summary>
public static class AdminVerbs
{
    /// <summary>Actor recorded in the audit log for what the command line does.</summary>
    public const string Actor = "admin-cli";
    public const int DefaultMessageLimit = 100;

    /// <summary>The command line acts as the installation's operator: through the same Core services as the UI, audited under <see cref="Actor"/>.</summary>
    private static readonly Caller Operator = Caller.Operator(Actor);

    public static AdminVerb Find(AdminArguments a) => (a.Noun, a.Verb) switch
    {
        ("org", "create") => CreateOrganization(a),
        ("project", "create") => CreateProject(a),
        ("env", "create") => CreateEnvironment(a),
        ("user", "create") => CreateUser(a),
        ("member", "add") => AddMember(a),
        ("credentials", "issue") => IssueCredentials(a),
        ("messages", "list") => ListMessages(a),
        ("messages", "raw") => RawMessage(a),
        ("token", "create") => CreateApiToken(a),
        ("org", "plan") => RetentionVerbs.ChangePlan(a),
        ("org", "usage") => RetentionVerbs.Usage(a),
        ("purge", "run") => RetentionVerbs.RunPurge(a),
        _ => throw new AdminUsageException($"Unknown command `{a.Noun} {a.Verb}`."),
    };

    private static AdminVerb CreateOrganization(AdminArguments a)
    {
        a.Expect(1, "plan");
        var name = a.Positionals[0];
        var plan = AdminArguments.ParseEnum<Plan>(a.RequiredOption("plan"), "plan");
        return async (services, output, ct) =>
        {
            var org = await services.GetRequiredService<TenancyAdministration>().CreateOrganizationAsync(name, plan, ct);
            await output.WriteAsync(new { org.Id, org.Name, org.Plan, org.Slug }, $"Created organization {org.Name} ({org.Plan}): {org.Id}", ct);
        };
    }

    private static AdminVerb CreateProject(AdminArguments a)
    {
        a.Expect(2);
        var organizationId = a.IdAt(0, "ORG_ID");
        var name = a.Positionals[1];
        return async (services, output, ct) =>
        {
            var project = await services.GetRequiredService<TenancyAdministration>().CreateProjectAsync(organizationId, name, ct);
            await output.WriteAsync(new { project.Id, project.OrganizationId, project.Name }, $"Created project {project.Name}: {project.Id}", ct);
        };
    }

    /// <summary>Odoo major versions Mailtest can reconfigure (approach D for 13–15, C for 16 and later).</summary>
    public const int OldestOdoo = OdooConnectionSettings.OldestVersion, NewestOdoo = OdooConnectionSettings.NewestVersion;

    private static AdminVerb CreateEnvironment(AdminArguments a)
    {
        a.Expect(2, "kind", "odoo-version", "odoo-db");
        var projectId = a.IdAt(0, "PROJECT_ID");
        var name = a.Positionals[1];
        var kind = AdminArguments.ParseEnum<EnvironmentKind>(a.RequiredOption("kind"), "kind");
        var odooVersionText = a.Option("odoo-version");
        var odooDatabase = a.Option("odoo-db");
        if ((odooVersionText is null) != (odooDatabase is null))
            throw new AdminUsageException("--odoo-version and --odoo-db go together.");
        int? odooVersion = null;
        if (odooVersionText is not null)
            odooVersion = int.TryParse(odooVersionText, out var version) && version is >= OldestOdoo and <= NewestOdoo
                ? version
                : throw new AdminUsageException($"--odoo-version must be an Odoo major version from {OldestOdoo} to {NewestOdoo}.");
        return async (services, output, ct) =>
        {
            var odoo = services.GetRequiredService<OdooConnectionSettings>();
            // A connection string Npgsql cannot read is refused before anything is created.
            if (odooVersion is { } checkedVersion) odoo.Check(checkedVersion, odooDatabase!);
            var environment = await services.GetRequiredService<TenancyAdministration>().CreateEnvironmentAsync(projectId, name, kind, ct);
            if (odooVersion is { } version)
            {
                // As on the environment page: sealed to this environment's id, never printed or logged, and audited.
                await odoo.SetAsync(Operator, environment.Id, version, odooDatabase!, ct);
                environment.OdooVersion = version;
                environment.OdooConnectionEncrypted = [];
            }
            var odooText = odooVersion is null ? "" : $", Odoo {odooVersion}";
            await output.WriteAsync(new
                {
                    environment.Id, environment.ProjectId, environment.Name, environment.Kind, environment.Slug,
                    environment.OdooVersion, HasOdooConnection = environment.OdooConnectionEncrypted is not null,
                },
                $"Created {environment.Kind.ToString().ToLowerInvariant()} environment {environment.Name}{odooText}: {environment.Id}", ct);
        };
    }

    private static AdminVerb CreateUser(AdminArguments a)
    {
        a.Expect(1, "password", "platform-admin");
        var email = a.Positionals[0];
        var password = a.RequiredOption("password");
        var isPlatformAdmin = a.Flag("platform-admin");
        return async (services, output, ct) =>
        {
            var user = await services.GetRequiredService<TenancyAdministration>().CreateUserAsync(email, password, isPlatformAdmin, ct);
            await output.WriteAsync(new { user.Id, user.Email, user.IsPlatformAdmin },
                $"Created {(user.IsPlatformAdmin ? "platform administrator" : "user")} {user.Email}: {user.Id}", ct);
        };
    }

    private static AdminVerb AddMember(AdminArguments a)
    {
        a.Expect(2, "role");
        var organizationId = a.IdAt(0, "ORG_ID");
        var email = a.Positionals[1];
        var role = AdminArguments.ParseEnum<OrganizationRole>(a.RequiredOption("role"), "role");
        return async (services, output, ct) =>
        {
            var membership = await services.GetRequiredService<TenancyAdministration>().AddMemberAsync(organizationId, email, role, ct);
            await output.WriteAsync(new { membership.OrganizationId, membership.UserId, Email = TenancyAdministration.NormalizeEmail(email), membership.Role },
                $"{email} is now {membership.Role.ToString().ToLowerInvariant()} of organization {membership.OrganizationId}", ct);
        };
    }

    /// <summary>
    /// An API token for scripts, printed once (only its hash is kept): <c>token create EMAIL</c> acts as
    /// that user; <c>token create --environment ENV_ID --scope read|read-write</c> reaches one environment's mail.
    /// </summary>
    private static AdminVerb CreateApiToken(AdminArguments a)
    {
        var environmentText = a.Option("environment");
        a.Expect(environmentText is null ? 1 : 0, "name", "environment", "scope");
        var name = a.Option("name") ?? "admin-cli";
        if (environmentText is not null)
        {
            var environmentId = Guid.TryParse(environmentText, out var parsed) ? parsed
                : throw new AdminUsageException($"--environment must be an id (a GUID), got '{environmentText}'.");
            var scope = ApiTokens.ParseScope(a.RequiredOption("scope"))
                ?? throw new AdminUsageException($"--scope must be read or read-write, got '{a.Option("scope")}'.");
            return async (services, output, ct) =>
            {
                var created = await services.GetRequiredService<ApiTokens>().CreateForEnvironmentByOperatorAsync(environmentId, scope, name, Actor, ct);
                await output.WriteAsync(new { created.Id, created.Token, EnvironmentId = environmentId, Scope = ApiTokens.ScopeName(scope) },
                    $"{ApiTokens.ScopeName(scope)} API token for environment {environmentId} (shown once): {created.Token}", ct);
            };
        }
        if (a.Option("scope") is not null) throw new AdminUsageException("--scope goes with --environment; a user's token has the user's permissions.");
        var email = a.Positionals[0];
        return async (services, output, ct) =>
        {
            var normalized = TenancyAdministration.NormalizeEmail(email);
            await using var db = await services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync(ct);
            var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Email == normalized, ct)
                ?? throw new TenancyException($"There is no user with the email {normalized}.");
            var created = await services.GetRequiredService<ApiTokens>().CreateAsync(user.Id, name, cancellationToken: ct);
            await output.WriteAsync(new { created.Id, created.Token, UserId = user.Id },
                $"API token for {normalized} (shown once): {created.Token}", ct);
        };
    }

    private static AdminVerb IssueCredentials(AdminArguments a)
    {
        a.Expect(1);
        var environmentId = a.IdAt(0, "ENV_ID");
        return async (services, output, ct) =>
        {
            // The lifecycle, as from the Mailtest tab: an environment with an Odoo connection is rerouted
            // (and snapshotted for the restore on disable); issuing again rotates, which updates Odoo too.
            var lifecycle = services.GetRequiredService<MailtestLifecycle>();
            var status = await lifecycle.GetStatusAsync(Operator, environmentId, ct);
            var credential = status switch
            {
                { State: MailtestState.Enabled, IsRotating: true } => await lifecycle.RetryRotationAsync(Operator, environmentId, ct),
                { State: MailtestState.Enabled } => await lifecycle.RotateAsync(Operator, environmentId, ct),
                _ => await EnableAsync(lifecycle, environmentId, ct),
            };
            await output.WriteAsync(new { EnvironmentId = environmentId, credential.Username, credential.Password },
                $"username: {credential.Username}\npassword: {credential.Password}\n(shown once; issuing again replaces it)", ct);
        };
    }

    private static async Task<IssuedCredential> EnableAsync(MailtestLifecycle lifecycle, Guid environmentId, CancellationToken ct)
    {
        var enabled = await lifecycle.EnableAsync(Operator, environmentId, ct);
        return new IssuedCredential(enabled.Username, enabled.Password);
    }

    private static AdminVerb ListMessages(AdminArguments a)
    {
        a.Expect(1, "limit");
        var environmentId = a.IdAt(0, "ENV_ID");
        var limitText = a.Option("limit");
        var limit = DefaultMessageLimit;
        if (limitText is not null && (!int.TryParse(limitText, out limit) || limit is < 1 or > MessageStore.MaxPageSize))
            throw new AdminUsageException($"--limit must be a number from 1 to {MessageStore.MaxPageSize}.");
        return async (services, output, ct) =>
        {
            await RequireEnvironmentAsync(services, environmentId, ct);
            var page = await services.GetRequiredService<IMessageStore>().ListAsync(new MessageListQuery([environmentId], PageSize: limit), ct);
            var human = page.Items.Count == 0
                ? "No messages."
                : string.Join("\n", page.Items.Select(m => $"{m.Id}  {m.ReceivedUtc:yyyy-MM-dd HH:mm:ss}  {m.EnvelopeFrom}  {m.Subject}"));
            await output.WriteAsync(page.Items, human, ct);
        };
    }

    private static AdminVerb RawMessage(AdminArguments a)
    {
        a.Expect(1);
        var messageId = a.IdAt(0, "MESSAGE_ID");
        return async (services, output, ct) =>
        {
            Guid organizationId, environmentId;
            await using (var db = await services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync(ct))
            {
                var owner = await db.Messages.Where(m => m.Id == messageId).Select(m => new { m.OrganizationId, m.EnvironmentId }).SingleOrDefaultAsync(ct)
                    ?? throw new NotFoundException($"There is no message {messageId}.");
                (organizationId, environmentId) = (owner.OrganizationId, owner.EnvironmentId);
            }
            // Reading someone's mail from the command line is a break-glass read: on the record.
            await services.GetRequiredService<AuditLog>().RecordAsync(null, Actor, AuditActions.BreakGlassMailAccess, organizationId, environmentId,
                $"Read raw message {messageId} from the admin command line", cancellationToken: ct);
            await using var raw = await services.GetRequiredService<IMessageStore>().OpenRawAsync(messageId, [environmentId], ct)
                ?? throw new NotFoundException($"There is no message {messageId}.");
            if (output.IsJson)
            {
                using var copy = new MemoryStream();
                await raw.CopyToAsync(copy, ct);
                await output.WriteAsync(new { Id = messageId, EnvironmentId = environmentId, Size = copy.Length, EmlBase64 = Convert.ToBase64String(copy.ToArray()) }, "", ct);
            }
            else await output.WriteRawAsync(raw, ct);
        };
    }

    private static async Task RequireEnvironmentAsync(IServiceProvider services, Guid environmentId, CancellationToken ct)
    {
        await using var db = await services.GetRequiredService<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync(ct);
        if (!await db.Environments.AnyAsync(e => e.Id == environmentId, ct))
            throw new NotFoundException($"There is no environment {environmentId}.");
    }
}
