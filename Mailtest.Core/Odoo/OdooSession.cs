using System.Globalization;
using System.Net.Sockets;
using Npgsql;

namespace Mailtest.Core.Odoo;

/// <summary>
/// One transaction on an Odoo database, with a short lock timeout. Everything Mailtest reads or
/// writes in <c>ir_mail_server</c> goes through here; disposing without <see cref="CommitAsync"/>
/// rolls back, so a failure leaves Odoo as it was.
/// </summary>
internal sealed class OdooSession : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly OdooConnectionString _target;

    private OdooSession(NpgsqlConnection connection, NpgsqlTransaction transaction, OdooConnectionString target)
    {
        _connection = connection;
        _transaction = transaction;
        _target = target;
    }

    /// <exception cref="OdooRoutingException">The database cannot be reached or refused us; the inner exception says how.</exception>
    public static async Task<OdooSession> OpenAsync(OdooConnectionString connectionString, OdooOptions options, CancellationToken cancellationToken)
    {
        var connection = connectionString.CreateConnection();
        try
        {
            NpgsqlTransaction transaction;
            try
            {
                await connection.OpenAsync(cancellationToken);
                transaction = await connection.BeginTransactionAsync(cancellationToken);
            }
            catch (Exception e) when (OdooFailures.IsDatabaseFailure(e))
            {
                throw OdooFailures.Translate(e, connectionString);
            }
            var session = new OdooSession(connection, transaction, connectionString);
            var lockMs = (long)options.LockTimeout.TotalMilliseconds;
            // bytea_output and extra_float_digits make the text forms of values exact and stable.
            await session.ExecuteAsync(
                $"SET LOCAL lock_timeout = {lockMs.ToString(CultureInfo.InvariantCulture)}; SET LOCAL bytea_output = 'hex'; SET LOCAL extra_float_digits = 1;",
                [], cancellationToken);
            return session;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Keeps Odoo (and other Mailtest checks) from writing the table while Mailtest reads and
    /// changes it; Odoo's reads still go through. A check waits here for a change in flight to commit.</summary>
    public Task LockMailServersAsync(CancellationToken cancellationToken) =>
        ExecuteAsync("LOCK TABLE ir_mail_server IN SHARE ROW EXCLUSIVE MODE", [], cancellationToken);

    public async Task<OdooVersion> ReadVersionAsync(CancellationToken cancellationToken)
    {
        if (await ScalarAsync<string>("SELECT to_regclass('ir_module_module')::text", [], cancellationToken) is null)
            throw new OdooRoutingException("The database has no ir_module_module table, so it is not an Odoo database (or the connection points at the wrong database).");
        var reported = await ScalarAsync<string>("SELECT latest_version FROM ir_module_module WHERE name = 'base' LIMIT 1", [], cancellationToken);
        return OdooVersion.Parse(reported);
    }

    public Task<MailServerTableShape> ReadShapeAsync(CancellationToken cancellationToken) => Guarded(() => ReadShapeCoreAsync(cancellationToken));

    private async Task<MailServerTableShape> ReadShapeCoreAsync(CancellationToken cancellationToken)
    {
        if (await ScalarAsync<string>("SELECT to_regclass('ir_mail_server')::text", [], cancellationToken) is null)
            return new MailServerTableShape([]);
        const string sql = """
            SELECT c.column_name::text,
                   (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                     WHERE a.attrelid = 'ir_mail_server'::regclass AND a.attname = c.column_name),
                   c.is_nullable = 'YES', c.column_default IS NOT NULL
              FROM information_schema.columns c
             WHERE c.table_schema = current_schema() AND c.table_name = 'ir_mail_server'
             ORDER BY c.ordinal_position
            """;
        var columns = new List<MailServerColumn>();
        await using var command = Command(sql, []);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            columns.Add(new MailServerColumn(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), reader.GetBoolean(3)));
        return new MailServerTableShape(columns);
    }

    /// <summary>True when the database user may read and change <c>ir_mail_server</c>.</summary>
    public async Task<bool> MayChangeMailServersAsync(CancellationToken cancellationToken) =>
        // One privilege per call: given a list, has_table_privilege is true when ANY of them is held.
        await ScalarAsync<bool>(
            "SELECT has_table_privilege('ir_mail_server', 'SELECT') AND has_table_privilege('ir_mail_server', 'INSERT')" +
            " AND has_table_privilege('ir_mail_server', 'UPDATE') AND has_table_privilege('ir_mail_server', 'DELETE')" +
            " AND COALESCE(has_sequence_privilege(pg_get_serial_sequence('ir_mail_server', 'id'), 'USAGE'), true)",
            [], cancellationToken);

    /// <summary>Every row, every column, as PostgreSQL's text form, in id order.</summary>
    public Task<MailServerRows> ReadRowsAsync(MailServerTableShape shape, CancellationToken cancellationToken) =>
        Guarded(() => ReadRowsCoreAsync(shape, cancellationToken));

    private async Task<MailServerRows> ReadRowsCoreAsync(MailServerTableShape shape, CancellationToken cancellationToken)
    {
        var select = string.Join(", ", shape.Columns.Select(c => $"{Quote(c.Name)}::text"));
        var rows = new List<MailServerRow>();
        await using var command = Command($"SELECT {select} FROM ir_mail_server ORDER BY id", []);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var values = new Dictionary<string, string?>();
            for (var i = 0; i < shape.Columns.Count; i++)
                values[shape.Columns[i].Name] = reader.IsDBNull(i) ? null : reader.GetString(i);
            rows.Add(new MailServerRow(values));
        }
        return new MailServerRows(shape.Columns, rows);
    }

    /// <summary>Names of mail templates that force a mail server (Odoo 16+ keeps the name as translated JSON).</summary>
    public Task<IReadOnlyList<string>> ReadTemplatesWithExplicitServerAsync(long? exceptServerId, CancellationToken cancellationToken) =>
        Guarded(() => ReadTemplatesCoreAsync(exceptServerId, cancellationToken));

    private async Task<IReadOnlyList<string>> ReadTemplatesCoreAsync(long? exceptServerId, CancellationToken cancellationToken)
    {
        if (await ScalarAsync<string>("SELECT to_regclass('mail_template')::text", [], cancellationToken) is null) return [];
        var nameType = await ScalarAsync<string>(
            "SELECT data_type::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'mail_template' AND column_name = 'name'",
            [], cancellationToken);
        var name = nameType == "jsonb"
            ? "COALESCE(t.name->>'en_US', (SELECT value FROM jsonb_each_text(t.name) LIMIT 1), '')"
            : "COALESCE(t.name::text, '')";
        var names = new List<string>();
        await using var command = Command(
            $"SELECT {name} FROM mail_template t WHERE t.mail_server_id IS NOT NULL AND t.mail_server_id IS DISTINCT FROM @except ORDER BY 1",
            [new NpgsqlParameter<long?>("except", exceptServerId) { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint }]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) names.Add(reader.GetString(0));
        return names;
    }

    public Task<int> ExecuteAsync(string sql, IReadOnlyList<NpgsqlParameter> parameters, CancellationToken cancellationToken) =>
        Guarded(async () =>
        {
            await using var command = Command(sql, parameters);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        });

    public Task<T?> ScalarAsync<T>(string sql, IReadOnlyList<NpgsqlParameter> parameters, CancellationToken cancellationToken) =>
        Guarded(async () =>
        {
            await using var command = Command(sql, parameters);
            var value = await command.ExecuteScalarAsync(cancellationToken);
            return value is null or DBNull ? default : (T)value;
        });

    public Task CommitAsync(CancellationToken cancellationToken) =>
        Guarded(async () => { await _transaction.CommitAsync(cancellationToken); return true; });

    /// <summary>Every database failure leaves here as an <see cref="OdooRoutingException"/> with a sentence a user can act on.</summary>
    private async Task<T> Guarded<T>(Func<Task<T>> work)
    {
        try { return await work(); }
        catch (Exception e) when (OdooFailures.IsDatabaseFailure(e)) { throw OdooFailures.Translate(e, _target); }
    }

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }

    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";

    private NpgsqlCommand Command(string sql, IReadOnlyList<NpgsqlParameter> parameters)
    {
        var command = new NpgsqlCommand(sql, _connection, _transaction);
        foreach (var parameter in parameters) command.Parameters.Add(parameter);
        return command;
    }
}

/// <summary>Turns a database failure into a sentence a user can act on (never a connection string or a value).</summary>
internal static class OdooFailures
{
    public static bool IsDatabaseFailure(Exception exception) =>
        exception is NpgsqlException or TimeoutException or SocketException
        || (exception is InvalidOperationException && exception.Source == "Npgsql");

    /// <summary>True when nothing can be concluded about the rows because the database could not be read.</summary>
    public static bool IsUnreachable(Exception exception) =>
        exception is NpgsqlException { InnerException: SocketException or TimeoutException or IOException }
        || exception is NpgsqlException and not PostgresException
        || exception is PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "53300" or "08006" or "08001" or "08004" }
        || exception is TimeoutException or SocketException;

    public static OdooRoutingException Translate(Exception exception, OdooConnectionString connection)
    {
        var message = exception switch
        {
            PostgresException { SqlState: "28P01" or "28000" } =>
                $"Mailtest could not sign in to the Odoo {connection.Description}: the user name or password was refused; check the environment's Odoo connection.",
            PostgresException { SqlState: "3D000" } =>
                $"The Odoo {connection.Description} does not exist; check the database name in the environment's Odoo connection.",
            PostgresException { SqlState: "42501" } =>
                $"The Odoo database user may not change Odoo's mail servers ({Clean(((PostgresException)exception).MessageText)}); grant it SELECT, INSERT, UPDATE and DELETE on ir_mail_server and USAGE on ir_mail_server_id_seq. Nothing was changed.",
            PostgresException { SqlState: "55P03" } =>
                "Odoo's mail server table is locked by another transaction (someone editing a mail server, or a running Odoo job); nothing was changed. Try again in a moment.",
            PostgresException { SqlState: "57014" } =>
                "The Odoo database took too long to answer; nothing was changed. Try again in a moment.",
            PostgresException { SqlState: "42P01" or "42703" } postgres =>
                $"The Odoo database does not have the tables Mailtest expects ({Clean(postgres.MessageText)}); check that the connection points at an Odoo 13–19 database.",
            PostgresException postgres when IsUnreachable(postgres) =>
                $"The Odoo {connection.Description} is not accepting connections ({Clean(postgres.MessageText)}); try again when it is back.",
            PostgresException postgres =>
                $"The Odoo database refused the change ({postgres.SqlState}: {Clean(postgres.MessageText)}); nothing was changed.",
            _ when Find<SocketException>(exception) is { } socket =>
                $"Mailtest could not reach the Odoo {connection.Description} ({Describe(socket.SocketErrorCode)}); check the host and port in the environment's Odoo connection.",
            _ when Find<TimeoutException>(exception) is not null =>
                $"Mailtest could not reach the Odoo {connection.Description} (timed out); check the host and port in the environment's Odoo connection and that the database accepts connections from Mailtest.",
            _ =>
                $"Mailtest could not talk to the Odoo {connection.Description} ({exception.GetType().Name}); check the environment's Odoo connection.",
        };
        return new OdooRoutingException(message, exception);
    }

    private static T? Find<T>(Exception? exception) where T : Exception
    {
        for (; exception is not null; exception = exception.InnerException)
            if (exception is T found) return found;
        return null;
    }

    private static string Describe(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host not found",
        SocketError.TimedOut => "timed out",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable => "host unreachable",
        _ => error.ToString(),
    };

    // Server messages name objects, not values; keep them to one short line anyway.
    private static string Clean(string text) => text.Length > 200 ? text[..200] + "…" : text.ReplaceLineEndings(" ");
}
