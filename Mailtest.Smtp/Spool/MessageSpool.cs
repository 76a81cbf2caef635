using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Smtp.Spool;

/// <summary>
/// Where DATA goes while a message arrives and is delivered: memory for a small message (see
/// <see cref="SpoolingStream"/>), within a budget shared by all sessions so memory stays bounded however
/// many arrive at once, else a file in the spool directory (<see cref="SmtpOptions.SpoolDirectory"/>,
/// default <c>{data}/spool</c>). Files are owner-only, live while one message arrives and is delivered,
/// and are deleted afterwards.
/// Leftovers of a crash were never acknowledged to a client, so they are removed at start — by the
/// process that owns the spool only: the admin command line run next to a live server shares its
/// data directory and must not remove the files the server's sessions are writing.
/// </summary>
internal sealed class MessageSpool : IDisposable
{
    private const string Extension = ".eml.spool";
    private const string OwnerLockFile = ".owner";

    /// <summary>Memory all sessions together may hold for messages arriving (<see cref="SmtpOptions.SpoolMemoryBytes"/>); past it, messages go to files.</summary>
    private readonly long _memoryBudget;
    private long _memoryHeld;

    /// <summary>Held open with no sharing (an advisory lock) while this process uses the spool; null when another process holds it.</summary>
    private readonly FileStream? _ownerLock;

    public MessageSpool(IOptions<SmtpOptions> options, SmtpDataDirectory dataDirectory, ILogger<MessageSpool> logger)
    {
        _memoryBudget = options.Value.SpoolMemoryBytes;
        Directory = Path.GetFullPath(options.Value.SpoolDirectory is { Length: > 0 } configured ? configured : Path.Combine(dataDirectory.Path, "spool"));
        // Mail is private: the spool is the process owner's alone (0700), like its files (0600).
        if (OperatingSystem.IsWindows()) System.IO.Directory.CreateDirectory(Directory);
        else
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        _ownerLock = TryOwn(Path.Combine(Directory, OwnerLockFile));
        if (_ownerLock is null)
        {
            logger.LogDebug("Another Mailtest process uses the spool {Directory}; its files are left alone.", Directory);
            return;
        }
        foreach (var stale in System.IO.Directory.EnumerateFiles(Directory, "*" + Extension))
        {
            try
            {
                File.Delete(stale);
            }
            catch (IOException e)
            {
                logger.LogWarning(e, "Could not remove the stale spool file {Path}", stale);
            }
        }
    }

    private static FileStream? TryOwn(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            return new FileStream(path, options);
        }
        catch (IOException)
        {
            return null; // held by another process
        }
    }

    public string Directory { get; }

    /// <summary>Bytes of arriving messages held in memory right now, by all sessions.</summary>
    public long MemoryHeld => Interlocked.Read(ref _memoryHeld);

    /// <summary>Where the next message's DATA goes: memory first, a file once it outgrows it.</summary>
    public SpoolingStream Begin() => new(this);

    internal bool TryReserveMemory(int bytes)
    {
        if (Interlocked.Add(ref _memoryHeld, bytes) <= _memoryBudget)
            return true;
        Interlocked.Add(ref _memoryHeld, -bytes);
        return false;
    }

    internal void ReleaseMemory(int bytes) => Interlocked.Add(ref _memoryHeld, -bytes);

    /// <summary>A new, empty spool file opened for writing.</summary>
    public FileStream Create()
    {
        var path = Path.Combine(Directory, Guid.NewGuid().ToString("N") + Extension);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            BufferSize = 0, // MessageDataReceiver writes in chunks of its own
            Options = FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // mail is private
        return new FileStream(path, options);
    }

    public static void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Removed at the next start.
        }
    }

    public void Dispose() => _ownerLock?.Dispose();
}
