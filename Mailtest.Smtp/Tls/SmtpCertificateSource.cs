using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Smtp.Tls;

/// <summary>
/// The server certificate for STARTTLS and implicit TLS: the configured one (PEM with a separate key,
/// PEM with the key inside, or PFX), else a self-signed one generated once into the data directory
/// and reused across restarts, so clients that pinned it keep working.
/// </summary>
internal sealed class SmtpCertificateSource(IOptions<SmtpOptions> options, SmtpDataDirectory dataDirectory, ILogger<SmtpCertificateSource> logger)
{
    public const string GeneratedFileName = "smtp-certificate.pfx";
    private readonly Lazy<X509Certificate2> _certificate = new(() => Load(options.Value, dataDirectory.Path, logger), LazyThreadSafetyMode.ExecutionAndPublication);

    public X509Certificate2 Certificate => _certificate.Value;

    private static X509Certificate2 Load(SmtpOptions options, string dataDirectory, ILogger logger)
    {
        if (!string.IsNullOrWhiteSpace(options.CertificatePath))
            return LoadConfigured(options);

        var path = Path.Combine(dataDirectory, GeneratedFileName);
        if (File.Exists(path))
            return X509CertificateLoader.LoadPkcs12FromFile(path, password: null);

        Directory.CreateDirectory(dataDirectory);
        var pfx = Generate(options);
        var ownerOnly = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            ownerOnly.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // the private key is inside
        using (var file = new FileStream(path, ownerOnly))
        {
            file.Write(pfx);
        }
        logger.LogInformation("Generated a self-signed SMTP certificate for {Host} into {Path}", options.PublicHost, path);
        return X509CertificateLoader.LoadPkcs12(pfx, password: null);
    }

    private static X509Certificate2 LoadConfigured(SmtpOptions options)
    {
        var path = options.CertificatePath!;
        if (path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase))
            return X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
        var pem = string.IsNullOrWhiteSpace(options.CertificateKeyPath)
            ? X509Certificate2.CreateFromPemFile(path)
            : X509Certificate2.CreateFromPemFile(path, options.CertificateKeyPath);
        // SslStream on some platforms wants a key that is not ephemeral: round-trip through PKCS#12.
        using (pem)
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
    }

    private static byte[] Generate(SmtpOptions options)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={options.PublicHost}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(options.PublicHost);
        if (!string.Equals(options.PublicHost, "localhost", StringComparison.OrdinalIgnoreCase))
            names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        return certificate.Export(X509ContentType.Pkcs12);
    }
}
