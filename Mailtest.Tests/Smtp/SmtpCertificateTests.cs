using Mailtest.Tests.Infrastructure;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mailtest.Tests.Smtp;

/// <summary>A configured certificate is the one clients see: PEM + key file, PEM with the key inside, or PFX with a password.</summary>
[TestCategory(Needs.Unit)]
public sealed class SmtpCertificateTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mailtest-smtp-cert-").FullName;
    private readonly X509Certificate2 _certificate;

    public SmtpCertificateTests()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=mail.test.example", key, HashAlgorithmName.SHA256);
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    public void Dispose()
    {
        _certificate.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<string?> PresentedThumbprintAsync(Action<Mailtest.Smtp.SmtpOptions> configure)
    {
        await using var server = new InMemorySmtpServer(configure);
        await using var client = server.Connect(implicitTls: true);
        await client.UpgradeToTlsAsync();
        Assert.StartsWith("220", await client.ReadReplyAsync());
        Assert.False(File.Exists(Path.Combine(server.DataDirectory, "smtp-certificate.pfx"))); // nothing generated
        return client.ServerCertificateThumbprint;
    }

    [Fact]
    public async Task PEM_certificate_with_a_separate_key_file()
    {
        var certificatePath = Path.Combine(_directory, "cert.pem");
        var keyPath = Path.Combine(_directory, "key.pem");
        await File.WriteAllTextAsync(certificatePath, _certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, _certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        Assert.Equal(_certificate.GetCertHashString(), await PresentedThumbprintAsync(o =>
        {
            o.CertificatePath = certificatePath;
            o.CertificateKeyPath = keyPath;
        }));
    }

    [Fact]
    public async Task PEM_certificate_with_the_key_inside()
    {
        var path = Path.Combine(_directory, "combined.pem");
        await File.WriteAllTextAsync(path, _certificate.ExportCertificatePem() + "\n" + _certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        Assert.Equal(_certificate.GetCertHashString(), await PresentedThumbprintAsync(o => o.CertificatePath = path));
    }

    [Fact]
    public async Task PFX_with_a_password()
    {
        var path = Path.Combine(_directory, "server.pfx");
        await File.WriteAllBytesAsync(path, _certificate.Export(X509ContentType.Pkcs12, "pfx-pass"));
        Assert.Equal(_certificate.GetCertHashString(), await PresentedThumbprintAsync(o =>
        {
            o.CertificatePath = path;
            o.CertificatePassword = "pfx-pass";
        }));
    }

    [Fact]
    public async Task A_missing_certificate_file_refuses_STARTTLS_with_454_and_the_session_goes_on()
    {
        await using var server = new InMemorySmtpServer(o => o.CertificatePath = Path.Combine(_directory, "missing.pem"));
        await using var client = server.Connect();
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        Assert.Equal("454 4.7.0 TLS not available due to temporary reason", await client.CommandAsync("STARTTLS"));
        Assert.Equal("250 2.0.0 Ok", await client.CommandAsync("NOOP"));
    }
}
