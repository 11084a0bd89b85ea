namespace Skiff.Engine.Containers;

/// <summary>Docker's wait conditions.</summary>
public enum WaitCondition
{
    /// <summary>Returns at once for a container that does not run ("not-running", the default).</summary>
    NotRunning,
    /// <summary>The next exit after the call, even of a container not started yet ("next-exit").</summary>
    NextExit,
    /// <summary>Until the container is gone ("removed").</summary>
    Removed,
}

/// <summary>
/// `wait` and POST /containers/{id}/wait. The state is polled: quickly at first (a short
/// container is answered in milliseconds), then every 50 ms. No exit is missed between two
/// looks: next-exit compares against the FinishedAt and RestartCount seen at the call, and
/// a container removed meanwhile leaves its last state behind (ContainerStore.Tombstone).
/// </summary>
public static class ContainerWait
{
    private static readonly TimeSpan MaxInterval = TimeSpan.FromMilliseconds(50);

    public static WaitCondition ParseCondition(string? condition) => condition switch
    {
        null or "" or "not-running" => WaitCondition.NotRunning,
        "next-exit" => WaitCondition.NextExit,
        "removed" => WaitCondition.Removed,
        _ => throw SkiffException.Invalid($"invalid condition: \"{condition}\""),
    };

    /// <summary>The exit code once the condition holds. The id is resolved already; NotFound if it is not there at the call.</summary>
    /// <param name="pause">
    /// Waits between two looks (Task.Delay by default); a caller that is told of changes
    /// (the daemon watches container directories) may end it early.
    /// </param>
    public static async Task<int> WaitAsync(ContainerStore store, string id, WaitCondition condition, CancellationToken cancel = default,
        Func<TimeSpan, CancellationToken, Task>? pause = null)
    {
        pause ??= Task.Delay;
        var baseline = store.State(id);
        var last = baseline;
        var interval = TimeSpan.FromMilliseconds(2);
        while (true)
        {
            ContainerState? now = Look(store, id);
            if (now is null)
            {
                // Removed: its last state, if the removal left one, else the last one seen.
                var final = store.Tombstone(id) ?? last;
                return final.ExitCode;
            }
            last = now;
            switch (condition)
            {
                case WaitCondition.NotRunning when !now.Running:
                    return now.ExitCode;
                case WaitCondition.NextExit when Exited(baseline, now):
                    return now.ExitCode;
            }
            await pause(interval, cancel).ConfigureAwait(false);
            interval = interval * 2 > MaxInterval ? MaxInterval : interval * 2;
        }
    }

    /// <summary>An exit happened since the baseline: a new finish time, a restart, or it stopped.</summary>
    private static bool Exited(ContainerState baseline, ContainerState now) =>
        now.FinishedAt != baseline.FinishedAt && now.FinishedAt != ContainerState.ZeroTime && (!now.Running || now.Status == "restarting")
        || now.RestartCount != baseline.RestartCount;

    private static ContainerState? Look(ContainerStore store, string id)
    {
        try
        {
            return store.State(id);
        }
        catch (SkiffException e) when (e.Category == ErrorCategory.NotFound)
        {
            return null;
        }
    }
}
