using Microsoft.Extensions.Logging;

namespace Mailtest.Smtp.Protection;

/// <summary>
/// One warning per incident, not one per message: the first failure of something (the spool disk,
/// the product's backend, the connection cap, storing captured mail) is logged at Warning; repeats stay
/// at Debug until it works again, which is logged at Information with how many failures the incident
/// had, and ends the incident. Thread-safe; a success while no incident is open costs one volatile read.
/// </summary>
/// <param name="what">What failed, as the log line starts ("SMTP: Spooling messages", "Storing captured mail").</param>
public sealed class FailureIncident(ILogger logger, string what)
{
    private int _open;
    private long _failures;

    public bool IsOpen => Volatile.Read(ref _open) == 1;

    public void Failed(Exception? error, string reason)
    {
        Interlocked.Increment(ref _failures);
        if (Interlocked.Exchange(ref _open, 1) == 0)
            logger.LogWarning(error, "{What} failed: {Reason}. Repeats are logged at Debug until it works again.", what, reason);
        else
            logger.LogDebug(error, "{What} failed again: {Reason}", what, reason);
    }

    public void Succeeded()
    {
        if (Volatile.Read(ref _open) == 1 && Interlocked.Exchange(ref _open, 0) == 1)
            logger.LogInformation("{What} works again ({Failures} failures in all)", what, Interlocked.Exchange(ref _failures, 0));
    }
}
