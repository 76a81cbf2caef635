using Mailtest.Tests.Infrastructure;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Mailtest.Core.Audit;
using Mailtest.Core.Data;
using Mailtest.Core.Odoo;
using Mailtest.Core.Security;
using Microsoft.Extensions.Options;
using Mailtest.Smtp;
using Mailtest.Tests.Data;
using Mailtest.Tests.Messages;
using Mailtest.Web.Admin;
using Microsoft.EntityFrameworkCore;
using Mailtest.Core.Tenancy;
using Microsoft.Extensions.DependencyInjection;

namespace Mailtest.Tests.Admin;

[TestCategory(Needs.Host)]
public sealed class AdminCommandLineTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"mailtest-admin-{Guid.NewGuid():N}");

    private sealed record Run(int ExitCode, byte[] Stdout, string Stderr)
    {
        public string Text => Encoding.UTF8.GetString(Stdout);
        public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;
        public Guid Id => Json.GetProperty("id").GetGuid();
    }

    private async Task<Run> AdminAsync(params string[] args)
    {
        using var stdout = new MemoryStream();
        using var stderr = new StringWriter();
        var exitCode = await AdminCommandLine.RunAsync(["admin", .. args, "--data-dir", _dataDirectory], stdout, stderr);
        return new Run(exitCode, stdout.ToArray(), stderr.ToString());
    }

    private static Run Succeeded(Run run)
    {
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}");
        return run;
    }

    [Fact]
    public async Task A_token_created_on_the_command_line_authenticates_as_its_user()
    {
        var user = Succeeded(await AdminAsync("user", "create", "qa@acme.example", "--password", "correct horse battery", "--json"));
        var created = Succeeded(await AdminAsync("token", "create", "QA@acme.example", "--json"));
        var token = created.Json.GetProperty("token").GetString()!;
        Assert.StartsWith("mt_", token);

        var unknown = await AdminAsync("token", "create", "nobody@acme.example", "--json");
        Assert.Equal((1, ""), (unknown.ExitCode, unknown.Text));
        Assert.Contains("no user with the email nobody@acme.example", unknown.Stderr);

        await using var core = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: _dataDirectory);
        var authenticated = await core.Get<ApiTokens>().AuthenticateAsync(token);
        Assert.Equal(user.Id, authenticated?.Id);
        Assert.Null(await core.Get<ApiTokens>().AuthenticateAsync(token + "x"));
    }

    [Fact]
    public async Task An_environment_token_created_on_the_command_line_reaches_that_environment_with_its_scope()
    {
        var org = Succeeded(await AdminAsync("org", "create", "Acme CI", "--plan", "Pro", "--json"));
        var project = Succeeded(await AdminAsync("project", "create", org.Id.ToString(), "Webshop", "--json"));
        var environment = Succeeded(await AdminAsync("env", "create", project.Id.ToString(), "Staging", "--kind", "staging", "--json"));

        var created = Succeeded(await AdminAsync("token", "create", "--environment", environment.Id.ToString(), "--scope", "read", "--name", "GitLab CI", "--json"));
        Assert.Equal((environment.Id, "read"), (created.Json.GetProperty("environmentId").GetGuid(), created.Json.GetProperty("scope").GetString()));
        var token = created.Json.GetProperty("token").GetString()!;
        var missing = await AdminAsync("token", "create", "--environment", Guid.NewGuid().ToString(), "--scope", "read-write", "--json");
        Assert.Equal(1, missing.ExitCode);

        await using var core = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: _dataDirectory);
        var holder = await core.Get<ApiTokens>().ResolveAsync(token);
        Assert.Null(holder?.User);
        Assert.Equal((environment.Id, ApiTokenScope.Read), (holder?.Environment?.EnvironmentId, holder?.Environment?.Scope));
        await using var db = await core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        var audit = await db.AuditEntries.SingleAsync(a => a.Action == AuditActions.EnvironmentTokenCreated && a.EnvironmentId == environment.Id);
        Assert.Equal(AdminVerbs.Actor, audit.Actor);
        Assert.Contains("GitLab CI", audit.Detail);
    }

    [Fact]
    public async Task An_installation_is_set_up_from_the_command_line_and_its_captured_mail_read_back()
    {
        var org = Succeeded(await AdminAsync("org", "create", "Acme Retail", "--plan", "Pro", "--json"));
        Assert.Equal(("Acme Retail", "Pro"), (org.Json.GetProperty("name").GetString(), org.Json.GetProperty("plan").GetString()));
        var project = Succeeded(await AdminAsync("project", "create", org.Id.ToString(), "Webshop", "--json"));
        var environment = Succeeded(await AdminAsync("env", "create", project.Id.ToString(), "Staging", "--kind", "staging", "--json"));
        Assert.Equal("Staging", environment.Json.GetProperty("kind").GetString());
        var user = Succeeded(await AdminAsync("user", "create", "Owner@Acme.example", "--password", "correct horse battery", "--platform-admin", "--json"));
        Assert.Equal(("owner@acme.example", true), (user.Json.GetProperty("email").GetString(), user.Json.GetProperty("isPlatformAdmin").GetBoolean()));
        var member = Succeeded(await AdminAsync("member", "add", org.Id.ToString(), "owner@acme.example", "--role", "owner", "--json"));
        Assert.Equal((user.Id, "Owner"), (member.Json.GetProperty("userId").GetGuid(), member.Json.GetProperty("role").GetString()));
        var credentials = Succeeded(await AdminAsync("credentials", "issue", environment.Id.ToString(), "--json"));
        var username = credentials.Json.GetProperty("username").GetString()!;
        var password = credentials.Json.GetProperty("password").GetString()!;

        // The issued credential logs in, and a message is captured for the environment.
        var eml = Encoding.UTF8.GetBytes(SampleMail.WithAttachments("Your order #1001"));
        await using (var core = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: _dataDirectory))
        {
            await using var scope = core.Services.CreateAsyncScope();
            var backend = scope.ServiceProvider.GetRequiredService<ISmtpBackend>();
            var peer = new SmtpPeer(new IPEndPoint(IPAddress.Loopback, 1), "odoo", true);
            var login = await backend.AuthenticateAsync(username, password, peer, default);
            Assert.True(login.Succeeded, login.Refusal?.ToString());
            using var message = SpooledMessage.FromBytes(eml);
            Assert.Equal(250, (await backend.DeliverAsync(new SmtpTransaction(login.Mailbox!, "shop@acme.example", ["buyer@example.com"], message, peer), default)).Code);

            await using var db = await core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
            // Issued through the lifecycle, as from the Mailtest tab: the same audit entry, by the command line.
            var audit = await db.AuditEntries.SingleAsync(a => a.Action == AuditActions.MailtestEnable);
            Assert.Equal(("admin-cli", (Guid?)null, environment.Id, org.Id), (audit.Actor, audit.ActorUserId, audit.EnvironmentId, audit.OrganizationId));
            Assert.DoesNotContain(password, audit.Detail);
        }

        var list = Succeeded(await AdminAsync("messages", "list", environment.Id.ToString(), "--json"));
        var summary = Assert.Single(list.Json.EnumerateArray());
        Assert.Equal("Your order #1001", summary.GetProperty("subject").GetString());
        Assert.Equal("buyer@example.com", summary.GetProperty("envelopeTo").GetString());
        var messageId = summary.GetProperty("id").GetGuid();

        var raw = Succeeded(await AdminAsync("messages", "raw", messageId.ToString()));
        Assert.Equal(eml, raw.Stdout);
        var rawJson = Succeeded(await AdminAsync("messages", "raw", messageId.ToString(), "--json"));
        Assert.Equal(eml, Convert.FromBase64String(rawJson.Json.GetProperty("emlBase64").GetString()!));

        await using var after = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: _dataDirectory);
        await using var auditDb = await after.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        Assert.Equal(2, await auditDb.AuditEntries.CountAsync(a => a.Action == AuditActions.BreakGlassMailAccess && a.Actor == "admin-cli" && a.EnvironmentId == environment.Id));
    }

    [Theory]
    [InlineData("org", "create", "--plan", "Pro")]                       // NAME missing
    [InlineData("org", "create", "Acme", "--plan", "Gold")]              // no such plan
    [InlineData("org", "create", "Acme")]                                // --plan missing
    [InlineData("project", "create", "not-an-id", "Webshop")]
    [InlineData("env", "create", "8d0f8f9e-5c1b-4a5e-9d7e-1d2b3c4d5e6f", "Dev", "--kind", "qa")]
    [InlineData("user", "create", "a@example.com", "--password")]       // value missing
    [InlineData("member", "add", "8d0f8f9e-5c1b-4a5e-9d7e-1d2b3c4d5e6f", "a@example.com", "--role", "boss")]
    [InlineData("credentials", "issue", "8d0f8f9e-5c1b-4a5e-9d7e-1d2b3c4d5e6f", "--force")]
    [InlineData("messages", "shred", "8d0f8f9e-5c1b-4a5e-9d7e-1d2b3c4d5e6f")]
    [InlineData("token", "create", "--environment", "8d0f8f9e-5c1b-4a5e-9d7e-1d2b3c4d5e6f", "--scope", "admin")]
    [InlineData("token", "create", "--environment", "8d0f8f9e-5c1b-4a5e-9d7e-1d2b3c4d5e6f")]   // --scope missing
    [InlineData("token", "create", "a@example.com", "--scope", "read")]                          // scope without environment
    [InlineData("frobnicate")]
    public async Task Wrong_arguments_print_the_usage_on_stderr_and_exit_2(params string[] args)
    {
        var run = await AdminAsync([.. args, "--json"]);

        Assert.Equal(2, run.ExitCode);
        Assert.Empty(run.Stdout);
        Assert.Contains("usage: admin", run.Stderr);
    }

    [Fact]
    public async Task Refusals_and_missing_things_are_a_sentence_on_stderr_and_exit_1()
    {
        var missingProject = await AdminAsync("project", "create", Guid.NewGuid().ToString(), "Webshop", "--json");
        Assert.Equal(1, missingProject.ExitCode);
        Assert.Empty(missingProject.Stdout);
        Assert.StartsWith("There is no organization", missingProject.Stderr);

        var org = Succeeded(await AdminAsync("org", "create", "Acme", "--plan", "Starter", "--json"));
        var project = Succeeded(await AdminAsync("project", "create", org.Id.ToString(), "Webshop", "--json"));
        var production = Succeeded(await AdminAsync("env", "create", project.Id.ToString(), "Live", "--kind", "production", "--json"));
        var refused = await AdminAsync("credentials", "issue", production.Id.ToString(), "--json");
        Assert.Equal(1, refused.ExitCode);
        Assert.Empty(refused.Stdout);
        Assert.Contains("production", refused.Stderr);

        var shortPassword = await AdminAsync("user", "create", "a@example.com", "--password", "short");
        Assert.Equal(1, shortPassword.ExitCode);
        var missingMessage = await AdminAsync("messages", "raw", Guid.NewGuid().ToString());
        Assert.Equal((1, 0), (missingMessage.ExitCode, missingMessage.Stdout.Length));
        var missingEnvironment = await AdminAsync("messages", "list", Guid.NewGuid().ToString(), "--json");
        Assert.Equal((1, 0), (missingEnvironment.ExitCode, missingEnvironment.Stdout.Length));
    }

    [Fact]
    public async Task An_environment_can_be_given_its_Odoo_database_which_is_stored_sealed()
    {
        var org = Succeeded(await AdminAsync("org", "create", "Acme", "--plan", "Pro", "--json"));
        var project = Succeeded(await AdminAsync("project", "create", org.Id.ToString(), "ERP", "--json"));
        const string odooDatabase = "Host=127.0.0.1;Port=5432;Database=acme_staging;Username=odoo;Password=Odoo-Secret-77";

        var environment = Succeeded(await AdminAsync("env", "create", project.Id.ToString(), "Staging", "--kind", "staging",
            "--odoo-version", "17", "--odoo-db", odooDatabase, "--json"));

        Assert.Equal((17, true), (environment.Json.GetProperty("odooVersion").GetInt32(), environment.Json.GetProperty("hasOdooConnection").GetBoolean()));
        Assert.DoesNotContain("Odoo-Secret-77", environment.Text + environment.Stderr);
        await using var core = await CoreServices.StartAsync(DatabaseProvider.Sqlite, dataDirectory: _dataDirectory);
        await using var db = await core.Get<IDbContextFactory<MailtestDbContext>>().CreateDbContextAsync();
        var stored = await db.Environments.SingleAsync(e => e.Id == environment.Id);
        Assert.Equal(-1, stored.OdooConnectionEncrypted!.AsSpan().IndexOf("Odoo-Secret-77"u8));
        var secret = new OdooConnectionSecret(core.Get<SecretBox>(), Options.Create(new OdooOptions()));
        Assert.Equal("database \"acme_staging\" on 127.0.0.1:5432", secret.Open(stored).Description);

        Assert.Equal(2, (await AdminAsync("env", "create", project.Id.ToString(), "Old", "--kind", "staging", "--odoo-version", "12", "--odoo-db", odooDatabase)).ExitCode);
        Assert.Equal(2, (await AdminAsync("env", "create", project.Id.ToString(), "Half", "--kind", "staging", "--odoo-db", odooDatabase)).ExitCode);
        var invalid = await AdminAsync("env", "create", project.Id.ToString(), "Broken", "--kind", "staging", "--odoo-version", "16", "--odoo-db", "Hots=nowhere;;Passw0rd", "--json");
        Assert.Equal((1, 0), (invalid.ExitCode, invalid.Stdout.Length));
        Assert.Contains("not a valid PostgreSQL connection string", invalid.Stderr);
        Assert.False(await db.Environments.AnyAsync(e => e.Name == "Broken" || e.Name == "Old" || e.Name == "Half"));
    }

    [Fact]
    public async Task Without_json_a_person_gets_one_short_line()
    {
        var run = Succeeded(await AdminAsync("org", "create", "Acme", "--plan", "agency"));

        Assert.Matches(@"^Created organization Acme \(Agency\): [0-9a-f-]{36}\n$", run.Text);
    }

    [Fact]
    public async Task The_built_executable_prints_only_json_on_stdout()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Mailtest.Web.dll");
        var first = await RunProcessAsync(dll, ["admin", "org", "create", "Process Org", "--plan", "Starter", "--json", "--data-dir", _dataDirectory], []);
        Assert.True(first.ExitCode == 0, first.Stderr);
        var org = JsonDocument.Parse(first.Stdout).RootElement;   // the whole of stdout is one JSON document
        var orgId = org.GetProperty("id").GetGuid();
        Assert.Equal("Process Org", org.GetProperty("name").GetString());

        // The data directory may also come from the environment, as in a systemd unit.
        var second = await RunProcessAsync(dll, ["admin", "project", "create", orgId.ToString(), "Shop", "--json"],
            new() { ["Mailtest__Data__Directory"] = _dataDirectory });
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Equal(orgId, JsonDocument.Parse(second.Stdout).RootElement.GetProperty("organizationId").GetGuid());

        var usage = await RunProcessAsync(dll, ["admin", "org", "create", "--json"], []);
        Assert.Equal((2, ""), (usage.ExitCode, usage.Stdout));
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunProcessAsync(string dll, string[] args, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return ValueTask.CompletedTask;
    }
}
