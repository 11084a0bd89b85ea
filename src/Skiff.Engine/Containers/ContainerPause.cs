using Skiff.Images;

namespace Skiff.Engine.Containers;

/// <summary>
/// docker pause/unpause: the container's cgroup frozen (v1 freezer.state, v2 cgroup.freeze)
/// and DIR/paused made, both under the container's lock; ContainerStore.State reports
/// "paused" while that file exists and the container runs. A container without a cgroup of
/// its own (rootless without a delegated v2 subtree) cannot be paused, and is told why.
/// </summary>
public static class ContainerPause
{
    public const string MarkerFile = "paused";

    public static void Pause(ContainerStore store, string reference)
    {
        string id = store.Resolve(reference);
        var def = store.Load(id);
        // Settled first: State takes the lock itself when it finds a dead supervisor.
        store.State(id);
        using var _ = store.Lock(id);
        string dir = store.Dir(id).Path;
        var state = StateFile.Read(dir);
        CheckRunning(id, state);
        if (File.Exists(Path.Combine(dir, MarkerFile)))
        {
            throw new SkiffException(ErrorCategory.Conflict, $"Container {id} is already paused");
        }
        var cgroup = RunningCgroup.Find(def, state, out string why)
            ?? throw SkiffException.Unavailable($"Cannot pause container {id}: pausing needs the container's own cgroup to freeze: {why}");
        cgroup.Freeze(true);
        if (!cgroup.IsFrozen())
        {
            cgroup.Freeze(false);
            throw SkiffException.Internal($"Cannot pause container {id}: its cgroup {cgroup.Path} did not freeze");
        }
        try
        {
            AtomicFile.Write(Path.Combine(dir, MarkerFile), System.Text.Encoding.UTF8.GetBytes(ContainerState.Now() + "\n"));
        }
        catch
        {
            cgroup.Freeze(false);
            throw;
        }
    }

    public static void Unpause(ContainerStore store, string reference)
    {
        string id = store.Resolve(reference);
        var def = store.Load(id);
        store.State(id);
        using var _ = store.Lock(id);
        string dir = store.Dir(id).Path;
        var state = StateFile.Read(dir);
        string marker = Path.Combine(dir, MarkerFile);
        if (!File.Exists(marker) || !state.Running)
        {
            throw new SkiffException(ErrorCategory.Conflict, $"Container {id} is not paused");
        }
        if (ContainerStore.ProcessAlive(state.Pid, state.PidStart))
        {
            var cgroup = RunningCgroup.Find(def, state, out string why)
                ?? throw SkiffException.Unavailable($"Cannot unpause container {id}: {why}");
            cgroup.Freeze(false);
        }
        File.Delete(marker);
    }

    private static void CheckRunning(string id, ContainerState state)
    {
        if (!state.Running || !ContainerStore.ProcessAlive(state.Pid, state.PidStart))
        {
            throw new SkiffException(ErrorCategory.Conflict, $"Container {id} is not running");
        }
        if (state.Status == "restarting")
        {
            throw new SkiffException(ErrorCategory.Conflict, $"Container {id} is restarting, wait until the container is running");
        }
    }
}

/// <summary>For the other verbs: thaw a paused container (stop and kill do, as Docker does), and forget the mark.</summary>
public static class ContainerFreezer
{
    /// <summary>
    /// Thaws the container's cgroup if it has one and removes DIR/paused; never throws (a
    /// container that is going away anyway must not be kept by a failed thaw).
    /// </summary>
    public static bool TryThaw(ContainerStore store, string id)
    {
        try
        {
            var def = store.Load(id);
            string dir = store.Dir(id).Path;
            var state = StateFile.Read(dir);
            if (state.Running && RunningCgroup.Find(def, state, out _) is { } cgroup)
            {
                cgroup.Freeze(false);
            }
            File.Delete(Path.Combine(dir, ContainerPause.MarkerFile));
            return true;
        }
        catch (Exception e) when (e is SkiffException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Whether the container is marked paused (DIR/paused).</summary>
    public static bool IsMarked(ContainerStore store, string id) => File.Exists(Path.Combine(store.Dir(id).Path, ContainerPause.MarkerFile));
}
