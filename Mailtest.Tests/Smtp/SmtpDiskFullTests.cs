using System.Diagnostics;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailtest.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace Mailtest.Tests.Smtp;

/// <summary>
/// The spool on a real full disk: a 2 MB tmpfs mounted for the test (the test run is root, as
/// scripts/test.sh runs it in CI), filled to the last byte, then emptied. MailKit over STARTTLS + AUTH.
/// </summary>
[TestCategory(Needs.Host)]
public sealed class SmtpDiskFullTests : IAsyncLifetime
{
    private const string User = "odoo-env-1";
    private const string Password = "s3cret-Passw0rd!";
    private readonly string _spool = Path.Combine(Path.GetTempPath(), $"mailtest-full-spool-{Guid.NewGuid():N}");
    private readonly CapturedLogs _logs = new();
    private SmtpTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_spool);
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", _spool);
        _host = await SmtpTestHost.StartAsync(settings: new Dictionary<string, string?> { ["Mailtest:Smtp:SpoolDirectory"] = _spool }, logs: _logs);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
        await RunAsync("umount", "--lazy", _spool);
        Directory.Delete(_spool);
    }

    [Fact]
    public async Task A_full_spool_disk_answers_451_with_a_sentence_logs_one_warning_and_recovers_by_itself()
    {
        var filler = Path.Combine(_spool, "filler");
        FillDisk(filler);
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15_000 };
        await client.ConnectAsync("127.0.0.1", _host.StartTls.Port, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync(User, Password);

        for (var attempt = 0; attempt < 2; attempt++)
        {
            var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(NewMessage($"Attempt {attempt}")));
            Assert.Equal(451, (int)refused.StatusCode);
            Assert.Equal("4.3.0 Mailtest's disk is full, so the message was not stored; try again later", refused.Message);
        }
        Assert.Empty(_host.Backend.Delivered);

        File.Delete(filler); // the operator makes room; nothing else is needed
        await client.SendAsync(NewMessage("After the disk was cleared"));
        await client.DisconnectAsync(quit: true);

        var delivered = Assert.Single(_host.Backend.Delivered);
        Assert.Contains("Subject: After the disk was cleared", System.Text.Encoding.UTF8.GetString(delivered.Content));
        var warning = Assert.Single(_logs.AtLeast(LogLevel.Warning)); // one incident, however many messages it refused
        Assert.Contains("full", warning.Message);
        Assert.Empty(Directory.GetFiles(_spool, "*.eml.spool")); // no half-written spool file left behind
    }

    private static MimeMessage NewMessage(string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sales@company.example"));
        message.To.Add(MailboxAddress.Parse("customer@client.example"));
        message.Subject = subject;
        // ~430 KB: past what the spool holds in memory, so it needs the spool disk.
        message.Body = new TextPart("plain") { Text = string.Concat(Enumerable.Repeat("A line of an invoice mail.\n", 16_000)) };
        return message;
    }

    private static void FillDisk(string path)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        var block = new byte[4096];
        try
        {
            while (true)
                file.Write(block);
        }
        catch (IOException)
        {
            // ENOSPC: the disk is full.
        }
    }

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed: {errors} (mounting a tmpfs for the full-disk test needs root, as scripts/test.sh runs in CI)");
    }
}
