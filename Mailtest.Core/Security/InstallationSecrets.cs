using System.Security.Cryptography;
using Mailtest.Core.Data;
using Microsoft.Extensions.Options;

namespace Mailtest.Core.Security;

/// <summary>The keys of this installation: from configuration, or generated once into the data directory.</summary>
public sealed class InstallationSecrets
{
    public InstallationSecrets(IOptions<SecurityOptions> security, IOptions<DataOptions> data)
    {
        var directory = data.Value.FullDirectory;
        PrivateDataDirectory.Secure(directory);
        EncryptionKey = Load(security.Value.EncryptionKey, directory, "encryption.key");
        CredentialHashKey = Load(security.Value.CredentialHashKey, directory, "credential-hash.key");
    }

    public byte[] EncryptionKey { get; }
    public byte[] CredentialHashKey { get; }

    private static byte[] Load(string? configured, string directory, string fileName)
    {
        if (!string.IsNullOrWhiteSpace(configured))
            return Decode(configured, $"the configured {fileName.Replace(".key", "")} key");

        var path = Path.Combine(directory, fileName);
        if (File.Exists(path))
            return Decode(File.ReadAllText(path).Trim(), path);

        var key = RandomNumberGenerator.GetBytes(32);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var stream = new FileStream(path, options);
            using var writer = new StreamWriter(stream);
            writer.Write(Convert.ToBase64String(key));
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first: use theirs, so both agree.
            return Decode(File.ReadAllText(path).Trim(), path);
        }
        return key;
    }

    private static byte[] Decode(string base64, string origin)
    {
        byte[] key;
        try { key = Convert.FromBase64String(base64); }
        catch (FormatException) { throw new InvalidOperationException($"The key in {origin} is not base64."); }
        if (key.Length != 32)
            throw new InvalidOperationException($"The key in {origin} must be 32 bytes (base64), found {key.Length}.");
        return key;
    }
}
