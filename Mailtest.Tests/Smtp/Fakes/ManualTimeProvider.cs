namespace Mailtest.Tests.Smtp.Fakes;

/// <summary>A clock that moves only when told to; timers fire during <see cref="Advance"/>.</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = new(2026, 1, 1, 8, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
            return _now;
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (_gate)
        {
            _now += by;
            due = _timers.Where(t => t.DueAt <= _now).OrderBy(t => t.DueAt).ToList();
            foreach (var timer in due)
                timer.DueAt = timer.Period > TimeSpan.Zero ? _now + timer.Period : null;
            _timers.RemoveAll(t => t.DueAt is null);
        }
        foreach (var timer in due)
            timer.Fire();
    }

    /// <summary>Waits until someone armed a timer for exactly <paramref name="delay"/> from now (e.g. a read's timeout).</summary>
    public async Task WaitForTimerAsync(TimeSpan delay)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            lock (_gate)
            {
                var expected = _now + delay;
                if (_timers.Any(t => t.DueAt == expected))
                    return;
            }
            await Task.Delay(5, timeout.Token);
        }
    }

    private void Arm(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
            timer.Period = period;
            timer.DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : _now + dueTime;
            if (timer.DueAt is not null)
                _timers.Add(timer);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? DueAt { get; set; }
        public TimeSpan Period { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Arm(this, dueTime, period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period);
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose() => owner.Arm(this, Timeout.InfiniteTimeSpan, TimeSpan.Zero);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
