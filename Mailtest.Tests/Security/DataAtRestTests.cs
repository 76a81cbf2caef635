using Mailtest.Tests.Infrastructure;
using Mailtest.Core.Tenancy;
using Mailtest.Tests.Inbox;
using MimeKit;

namespace Mailtest.Tests.Security;

/// <summary>
/// The data directory of a running host, after mail went through the spool into the database, is the
/// process owner's alone: the directory 0700, every file in it 0600 (mailtest.db, -wal, -shm, keys,
/// certificate, spool). The test host creates the directory 0755 first, as an older version did.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[TestCategory(Needs.Host)]
public sealed class DataAtRestTests(InboxSite site) : IClassFixture<InboxSite>
{
    [Fact]
    public async Task The_data_directory_and_every_file_in_it_are_owner_only()
    {
        var message = new MimeMessage { Subject = $"At rest {Guid.NewGuid():N}", Body = new TextPart("plain") { Text = "private" } };
        message.From.Add(MailboxAddress.Parse("shop@example.com"));
        message.To.Add(MailboxAddress.Parse("anna@example.com"));
        await site.SendAsync(site.Staging, message);

        var directory = site.DataDirectory;
        var names = Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(directory, p)).ToList();
        Assert.Contains("mailtest.db", names);
        Assert.Contains("mailtest.db-wal", names);
        Assert.Contains("mailtest.db-shm", names);
        Assert.Contains("encryption.key", names);
        Assert.Contains("credential-hash.key", names);
        Assert.Contains("spool", names);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
        foreach (var name in names)
        {
            var path = Path.Combine(directory, name);
            var expected = Directory.Exists(path)
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                : UnixFileMode.UserRead | UnixFileMode.UserWrite;
            Assert.True(File.GetUnixFileMode(path) == expected, $"{name} is {File.GetUnixFileMode(path)}, expected {expected}");
        }
    }

    [Fact]
    public void A_data_directory_others_share_is_refused_and_left_as_it_was()
    {
        var shared = Path.Combine(Path.GetTempPath(), $"mailtest-shared-{Guid.NewGuid():N}");
        var sharedMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute | UnixFileMode.StickyBit;
        Directory.CreateDirectory(shared);
        File.SetUnixFileMode(shared, sharedMode);
        var neighbour = Path.Combine(shared, "another-program.txt");
        File.WriteAllText(neighbour, "not Mailtest's");
        File.SetUnixFileMode(neighbour, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        try
        {
            foreach (var directory in new[] { shared, Path.GetTempPath() })
            {
                var refusal = Assert.Throws<InvalidOperationException>(() => Mailtest.Core.Data.PrivateDataDirectory.Secure(directory));
                Assert.Contains("Mailtest:Data:Directory", refusal.Message);
            }
            Assert.Equal(sharedMode, File.GetUnixFileMode(shared));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(neighbour));
        }
        finally
        {
            Directory.Delete(shared, recursive: true);
        }
    }
}
