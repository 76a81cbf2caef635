using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mailtest.Smtp.Spool;

/// <summary>
/// The directory DATA streams into (<see cref="SmtpOptions.SpoolDirectory"/>, default <c>{data}/spool</c>).
/// Files are owner-only, live while one message arrives and is delivered, and are deleted afterwards.
/// Leftovers of a crash were never acknowledged to a client, so they are removed at start.
/// </summary>
internal sealed class MessageSpool
{
    private const string Extension = ".eml.spool";

    public MessageSpool(IOptions<SmtpOptions> options, SmtpDataDirectory dataDirectory, ILogger<MessageSpool> logger)
    {
        Directory = Path.GetFullPath(options.Value.SpoolDirectory is { Length: > 0 } configured ? configured : Path.Combine(dataDirectory.Path, "spool"));
        // Mail is private: the spool is the process owner's alone (0700), like its files (0600).
        if (OperatingSystem.IsWindows()) System.IO.Directory.CreateDirectory(Directory);
        else
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
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

    public string Directory { get; }

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
}
