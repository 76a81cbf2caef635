using System.Text;
using Mailtest.Core.Security;
using Mailtest.Core.Tenancy;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Mailtest.Core.Odoo;

/// <summary>
/// Seals an environment's Odoo connection string (Npgsql syntax) for <see cref="ProjectEnvironment.OdooConnectionEncrypted"/>
/// and opens it again. The environment id is the associated data, so a value copied onto another
/// environment does not open.
/// </summary>
public sealed class OdooConnectionSecret(SecretBox box, IOptions<OdooOptions> options)
{
    /// <exception cref="ArgumentException">The text is not a connection string Npgsql understands (the text is not repeated).</exception>
    public byte[] Seal(Guid environmentId, string connectionString)
    {
        try { _ = new NpgsqlConnectionStringBuilder(connectionString); }
        catch (ArgumentException)
        {
            throw new ArgumentException("The Odoo connection is not a valid PostgreSQL connection string (Host=...;Database=...;Username=...;Password=...).");
        }
        return box.Seal(Encoding.UTF8.GetBytes(connectionString), environmentId.ToByteArray());
    }

    /// <exception cref="OdooRoutingException">The environment has no Odoo connection, or it was sealed for another environment or key.</exception>
    public OdooConnectionString Open(ProjectEnvironment environment)
    {
        if (environment.OdooConnectionEncrypted is not { Length: > 0 } sealedValue)
            throw new OdooRoutingException("This environment has no Odoo database connection configured.");
        byte[] plain;
        try { plain = box.Open(sealedValue, environment.Id.ToByteArray()); }
        catch (System.Security.Cryptography.CryptographicException)
        {
            throw new OdooRoutingException("The environment's Odoo connection could not be decrypted with this installation's key; enter the Odoo connection again.");
        }

        var builder = new NpgsqlConnectionStringBuilder(Encoding.UTF8.GetString(plain))
        {
            // Fail fast when the database is away, and never echo row values (passwords) in errors.
            Timeout = Math.Max(1, (int)options.Value.ConnectTimeout.TotalSeconds),
            CommandTimeout = Math.Max(1, (int)options.Value.CommandTimeout.TotalSeconds),
            IncludeErrorDetail = false,
            PersistSecurityInfo = false,
            ApplicationName = "Mailtest",
        };
        return new OdooConnectionString(builder);
    }
}

/// <summary>An opened connection string. <see cref="ToString"/> names the database without credentials.</summary>
public sealed class OdooConnectionString
{
    private readonly string _value;

    internal OdooConnectionString(NpgsqlConnectionStringBuilder builder)
    {
        _value = builder.ConnectionString;
        Description = $"database \"{builder.Database}\" on {builder.Host}:{builder.Port}";
    }

    /// <summary>Database, host and port, for messages.</summary>
    public string Description { get; }

    internal NpgsqlConnection CreateConnection() => new(_value);

    public override string ToString() => Description;
}
