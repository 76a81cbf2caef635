using Microsoft.Extensions.Logging;

namespace Mailtest.Smtp.Protection;

/// <summary>
/// One warning per incident, not one per message: the first failure of something (the spool disk,
/// the product's backend, the connection cap) is logged at Warning; repeats stay at Debug until it
/// works again, which is logged at Information and ends the incident. Thread-safe.
/// </summary>
internal sealed class FailureIncident(ILogger logger, string what)
{
    private int _open;

    public bool IsOpen => Volatile.Read(ref _open) == 1;

    public void Failed(Exception? error, string reason)
    {
        if (Interlocked.Exchange(ref _open, 1) == 0)
            logger.LogWarning(error, "SMTP: {What} failed: {Reason}. Repeats are logged at Debug until it works again.", what, reason);
        else
            logger.LogDebug(error, "SMTP: {What} failed again: {Reason}", what, reason);
    }

    public void Succeeded()
    {
        if (Volatile.Read(ref _open) == 1 && Interlocked.Exchange(ref _open, 0) == 1)
            logger.LogInformation("SMTP: {What} works again", what);
    }
}
