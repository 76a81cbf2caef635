using System.Diagnostics;
using Mailtest.Tests.Infrastructure;
using Npgsql;

namespace Mailtest.Tests.Odoo;

/// <summary>The mail server setups the tests reroute, per Odoo version.</summary>
public enum OdooScenario
{
    NoRows,
    OneActiveRow,
    /// <summary>Archived rows, several sequences (one NULL), from_filter values (15+), certificates, debug flags.</summary>
    SeveralRows,
    /// <summary>Only archived rows: Odoo falls back to odoo.conf.</summary>
    OnlyArchivedRows,
    /// <summary>The gmail / outlook columns and rows that use them (16+).</summary>
    OAuthColumns,
    /// <summary>A production copy after <c>odoo-bin neutralize</c> (16+).</summary>
    Neutralized,
    /// <summary>A template that forces a server.</summary>
    TemplateWithExplicitServer,
}

/// <summary>A throwaway Odoo-shaped database on the test PostgreSQL: the real ir_mail_server shape of one version.</summary>
public sealed class OdooTestDatabase
{
    public const string ExplicitTemplateName = "Order confirmation";

    private OdooTestDatabase(string connectionString, int version)
    {
        ConnectionString = connectionString;
        Version = version;
    }

    public string ConnectionString { get; }
    public int Version { get; }

    public static async Task<OdooTestDatabase> CreateAsync(PostgresServer postgres, int version, OdooScenario scenario = OdooScenario.NoRows, string? reportedVersion = null)
    {
        var database = new OdooTestDatabase(await postgres.CreateDatabaseAsync($"odoo{version}"), version);
        await database.ExecuteAsync(Script("prelude.sql"));
        await database.ExecuteAsync(Script(version switch
        {
            13 or 14 => "ir_mail_server_13_14.sql",
            15 or 16 => "ir_mail_server_15_16.sql",
            17 => "ir_mail_server_17.sql",
            18 => "ir_mail_server_18.sql",
            19 => "ir_mail_server_19.sql",
            _ => throw new ArgumentOutOfRangeException(nameof(version)),
        }));
        await database.ExecuteAsync(Script(version >= 16 ? "mail_template_16plus.sql" : "mail_template_13_15.sql"));
        await database.ExecuteAsync("INSERT INTO ir_module_module (name, state, latest_version) VALUES ('base', 'installed', @v)",
            ("v", reportedVersion ?? $"{version}.0.1.3"));
        await database.SeedAsync(scenario);
        return database;
    }

    public static string Script(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "Odoo", name));

    private async Task SeedAsync(OdooScenario scenario)
    {
        var v15 = Version >= 15;
        switch (scenario)
        {
            case OdooScenario.NoRows:
                break;
            case OdooScenario.OneActiveRow:
                await AddServerAsync("Production SMTP", "smtp.example.com", 587, "starttls", "prod@example.com", "prod-secret-1", 10, active: true);
                break;
            case OdooScenario.OnlyArchivedRows:
                await AddServerAsync("Old relay", "relay.example.com", 25, "none", null, null, 10, active: false);
                await AddServerAsync("Older relay", "relay2.example.com", 465, "ssl", "old@example.com", "old-secret", 20, active: false);
                break;
            case OdooScenario.SeveralRows:
            case OdooScenario.Neutralized:
            case OdooScenario.OAuthColumns:
                await AddServerAsync("Archived first", "archived.example.com", 25, "none", null, null, 1, active: false);
                await AddServerAsync("Sales", "smtp.sales.example.com", 587, "starttls", "sales@example.com", "sales-secret", 5, active: true,
                    fromFilter: v15 ? (Version >= 17 ? "sales@example.com,billing@example.net" : "sales@example.com") : null);
                await AddServerAsync("Company domain", "smtp.example.com", 465, "ssl", "company@example.com", "company-secret", 10, active: true,
                    fromFilter: v15 ? "example.com" : null, debug: true);
                await AddServerAsync("Catch-all", "smtp.catchall.example.org", 2525, "starttls", "all@example.org", "all-secret", null, active: true);
                if (v15)
                    await ExecuteAsync("""
                        INSERT INTO ir_mail_server (name, smtp_host, smtp_port, smtp_encryption, smtp_authentication, smtp_ssl_certificate, smtp_ssl_private_key, sequence, active, create_uid, create_date, write_uid, write_date)
                        VALUES ('Certificate relay', 'cert.example.com', 465, 'ssl', 'certificate', '\x2d2d2d2d2d424547494e00ff', '\x00ff10', 30, true, 2, '2024-02-29 23:59:59.999999', 1, '2024-03-01 00:00:00')
                        """);
                if (Version >= 18) await ExecuteAsync("UPDATE ir_mail_server SET max_email_size = 12.75 WHERE name = 'Sales'");
                if (Version >= 19)
                    await ExecuteAsync("""
                        INSERT INTO ir_mail_server (name, smtp_host, smtp_port, smtp_encryption, smtp_authentication, smtp_user, smtp_pass, sequence, active, owner_user_id, owner_limit_time, owner_limit_count)
                        VALUES ('Personal (user 2)', 'smtp.personal.example.com', 587, 'starttls_strict', 'login', 'me@example.com', 'me-secret', 10, true, 2, '2025-01-01 08:00:00', 3)
                        """);
                if (scenario == OdooScenario.OAuthColumns)
                {
                    await ExecuteAsync(Script("oauth_columns.sql"));
                    await ExecuteAsync("""
                        INSERT INTO ir_mail_server (name, smtp_host, smtp_port, smtp_encryption, smtp_authentication, smtp_user, sequence, active,
                                                    google_gmail_refresh_token, google_gmail_access_token, google_gmail_access_token_expiration)
                        VALUES ('Gmail', 'smtp.gmail.com', 587, 'starttls', 'gmail', 'team@example.com', 3, true, 'refresh-token', 'access-token', 1735689600);
                        INSERT INTO ir_mail_server (name, smtp_host, smtp_port, smtp_encryption, smtp_authentication, smtp_user, sequence, active,
                                                    microsoft_outlook_refresh_token, microsoft_outlook_access_token, microsoft_outlook_access_token_expiration)
                        VALUES ('Outlook', 'smtp.office365.com', 587, 'starttls', 'outlook', 'team@example.onmicrosoft.com', 4, false, 'o-refresh', 'o-access', 1735689601);
                        """);
                }
                if (scenario == OdooScenario.Neutralized) await ExecuteAsync(Script("neutralize.sql"));
                break;
            case OdooScenario.TemplateWithExplicitServer:
                await AddServerAsync("Default", "smtp.example.com", 587, "starttls", "prod@example.com", "prod-secret-1", 10, active: true);
                var forced = await AddServerAsync("Marketing relay", "smtp.marketing.example.com", 587, "starttls", "mkt@example.com", "mkt-secret", 20, active: true);
                var name = Version >= 16 ? $$"""{"en_US": "{{ExplicitTemplateName}}", "fr_FR": "Confirmation de commande"}""" : ExplicitTemplateName;
                await ExecuteAsync($"INSERT INTO mail_template (name, mail_server_id) VALUES (@name{(Version >= 16 ? "::jsonb" : "")}, @id)", ("name", name), ("id", forced));
                await ExecuteAsync(Version >= 16 ? """INSERT INTO mail_template (name) VALUES ('{"en_US": "Plain template"}')""" : "INSERT INTO mail_template (name) VALUES ('Plain template')");
                break;
        }
    }

    public async Task<int> AddServerAsync(string name, string host, int port, string encryption, string? user, string? password, int? sequence,
        bool active, string? fromFilter = null, bool debug = false)
    {
        var columns = "name, smtp_host, smtp_port, smtp_encryption, smtp_user, smtp_pass, sequence, active, smtp_debug, create_uid, create_date, write_uid, write_date";
        var values = "@name, @host, @port, @enc, @user, @pass, @seq, @active, @debug, 1, '2023-05-04 10:11:12.345678', 2, '2024-06-07 13:14:15'";
        if (Version >= 15)
        {
            columns += ", smtp_authentication, from_filter";
            values += ", 'login', @filter";
        }
        return (int)(await ScalarAsync($"INSERT INTO ir_mail_server ({columns}) VALUES ({values}) RETURNING id",
            ("name", name), ("host", host), ("port", port), ("enc", encryption), ("user", user), ("pass", password),
            ("seq", sequence), ("active", active), ("debug", debug), ("filter", fromFilter)))!;
    }

    public async Task ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = Command(connection, sql, parameters);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<object?> ScalarAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>The rows Odoo's server choice looks at.</summary>
    public async Task<IReadOnlyList<OdooServerRow>> ReadServersAsync()
    {
        var filter = Version >= 15 ? "from_filter" : "NULL::varchar";
        var owner = Version >= 19 ? "owner_user_id" : "NULL::integer";
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT id, name, smtp_host, smtp_port, smtp_encryption, smtp_user, smtp_pass, sequence, active, {filter}, {owner} FROM ir_mail_server ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<OdooServerRow>();
        while (await reader.ReadAsync())
            rows.Add(new OdooServerRow(reader.GetInt32(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetInt32(3), reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetInt32(7), reader.GetBoolean(8),
                reader.IsDBNull(9) ? null : reader.GetString(9), reader.IsDBNull(10) ? null : reader.GetInt32(10)));
        return rows;
    }

    /// <summary>
    /// <c>pg_dump --data-only</c> of ir_mail_server and mail_template. COPY writes rows in storage order,
    /// which updates change, so each table's rows are sorted; the id sequence's setval may differ and is left out.
    /// </summary>
    public async Task<string> DumpAsync(PostgresServer postgres)
    {
        var lines = new List<string>();
        var copy = new List<string>();
        var inCopy = false;
        foreach (var line in (await BackupAsync(postgres)).Split('\n'))
        {
            // \restrict carries a random key per dump.
            if (line.StartsWith("SELECT pg_catalog.setval", StringComparison.Ordinal) || line.StartsWith("\\restrict ", StringComparison.Ordinal) || line.StartsWith("\\unrestrict ", StringComparison.Ordinal)) continue;
            if (inCopy && line == "\\.")
            {
                lines.AddRange(copy.Order(StringComparer.Ordinal));
                copy.Clear();
                inCopy = false;
            }
            if (inCopy) copy.Add(line);
            else lines.Add(line);
            if (line.StartsWith("COPY ", StringComparison.Ordinal)) inCopy = true;
        }
        return string.Join('\n', lines);
    }

    /// <summary>A plain data backup of the mail tables, as an admin would take one.</summary>
    public Task<string> BackupAsync(PostgresServer postgres) =>
        RunAsync(postgres, "pg_dump", ["--data-only", "--table=ir_mail_server", "--table=mail_template"]);

    /// <summary>Puts a backup back: the tables are emptied and the dump replayed with psql.</summary>
    public async Task RestoreBackupAsync(PostgresServer postgres, string backup)
    {
        await ExecuteAsync("DELETE FROM mail_template; DELETE FROM ir_mail_server;");
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, backup);
            await RunAsync(postgres, "psql", ["-v", "ON_ERROR_STOP=1", "-q", "-f", file]);
        }
        finally { File.Delete(file); }
    }

    private async Task<string> RunAsync(PostgresServer postgres, string program, string[] arguments)
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        var start = new ProcessStartInfo(postgres.BinPath(program))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var argument in arguments.Concat(["-h", builder.Host!, "-p", builder.Port.ToString(), "-U", builder.Username!, builder.Database!]))
            start.ArgumentList.Add(argument);
        if (builder.Password is { } password) start.Environment["PGPASSWORD"] = password;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program}: {await error}");
        return await output;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, (string Name, object? Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
            command.Parameters.Add(value is null ? new NpgsqlParameter(name, NpgsqlTypes.NpgsqlDbType.Unknown) { Value = DBNull.Value } : new NpgsqlParameter(name, value));
        return command;
    }
}

/// <summary>The columns of an ir_mail_server row that decide where Odoo sends.</summary>
public sealed record OdooServerRow(
    int Id, string Name, string? Host, int? Port, string Encryption, string? User, string? Password,
    int? Sequence, bool Active, string? FromFilter, int? OwnerUserId);
