namespace Mailtest.Core.Data;

/// <summary>
/// The data directory holds the mail (the database, its -wal and -shm, the spool), the keys and the
/// TLS certificate: only the account Mailtest runs as may open it. The directory is made 0700 and
/// every file in it 0600 at start, including what an older version left 0644, and once more right
/// after the migrations (when SQLite has created its files). Files created later are owner-only
/// too: ours are created 0600, and SQLite gives a new -wal or -shm its database's mode.
/// Nothing to do on Windows, where the directory inherits its parent's ACL.
/// </summary>
public static class PrivateDataDirectory
{
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the directory owner-only, or makes an existing one and everything in it owner-only.</summary>
    public static void Secure(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }
        RefuseShared(directory);
        Directory.CreateDirectory(directory, DirectoryMode);
        File.SetUnixFileMode(directory, DirectoryMode);
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
        {
            if (entry.LinkTarget is not null) continue; // never follow a link out of the directory
            entry.UnixFileMode = entry is DirectoryInfo ? DirectoryMode : FileMode;
        }
    }

    /// <summary>
    /// Tightening is recursive, so a data directory pointed by mistake at a directory others share
    /// (/tmp, a home, the root) would lock every other program out of it: refuse to start instead.
    /// A directory Mailtest made is never world-writable or sticky.
    /// </summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void RefuseShared(string directory)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        string[] shared = [Path.GetPathRoot(full) ?? "/", Path.GetTempPath(), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile)];
        var isShared = shared.Any(d => d.Length > 0 && string.Equals(full, Path.TrimEndingDirectorySeparator(Path.GetFullPath(d)), StringComparison.Ordinal))
            || Directory.Exists(full) && (File.GetUnixFileMode(full) & (UnixFileMode.StickyBit | UnixFileMode.OtherWrite)) != 0;
        if (isShared)
            throw new InvalidOperationException(
                $"The data directory {full} is shared with other programs; set Mailtest:Data:Directory to a directory of Mailtest's own (it is made readable by this account only).");
    }
}
