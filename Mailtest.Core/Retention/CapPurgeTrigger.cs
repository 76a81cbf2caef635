using Microsoft.Extensions.Logging;

namespace Mailtest.Core.Retention;

/// <summary>
/// Starts a purge for an organization the moment it reaches a cap, in the background, instead of
/// letting SMTP answer <c>452</c> until the next hourly run. At most one such purge per organization
/// runs at a time; a request made while one runs makes it run once more, so a burst that filled the
/// cap again during the purge is trimmed too.
/// </summary>
public sealed class CapPurgeTrigger(RetentionPurge purge, ILogger<CapPurgeTrigger> logger) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, Run> _runs = [];
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Returns at once; the purge runs in the background.</summary>
    /// <param name="roomForBytes">The size of the message that was refused: the purge frees at least that much below the storage cap.</param>
    public void Request(Guid organizationId, long roomForBytes = 0)
    {
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested) return;
            if (_runs.TryGetValue(organizationId, out var running))
            {
                running.Again = true;
                running.RoomForBytes = Math.Max(running.RoomForBytes, roomForBytes);
                return;
            }
            var run = new Run { RoomForBytes = roomForBytes };
            _runs[organizationId] = run;
            run.Task = Task.Run(() => RunAsync(organizationId, run));
        }
    }

    /// <summary>Completes when no triggered purge is running (tests, shutdown).</summary>
    public Task IdleAsync()
    {
        lock (_gate) return Task.WhenAll(_runs.Values.Select(r => r.Task));
    }

    private async Task RunAsync(Guid organizationId, Run run)
    {
        while (true)
        {
            try
            {
                long room;
                lock (_gate) room = run.RoomForBytes;
                await purge.PurgeAtCapAsync(organizationId, room, _stopping.Token);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { }
            catch (Exception e)
            {
                logger.LogError(e, "The purge triggered by organization {OrganizationId} reaching its cap failed.", organizationId);
            }
            lock (_gate)
            {
                if (!run.Again || _stopping.IsCancellationRequested)
                {
                    _runs.Remove(organizationId);
                    return;
                }
                run.Again = false;
            }
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private sealed class Run
    {
        public Task Task { get; set; } = Task.CompletedTask;
        public bool Again { get; set; }
        public long RoomForBytes { get; set; }
    }
}
