using Skiff.Linux;
using Skiff.Runtime.Supervision;

namespace Skiff.Engine.Containers;

/// <summary>stop and rm, Docker's way.</summary>
public static class ContainerLifecycle
{
    public const int DefaultStopTimeout = 10;

    /// <summary>The container's stop signal (SIGTERM unless --stop-signal), then SIGKILL after the timeout.</summary>
    public static void Stop(ContainerStore store, string id, int? signal, int? timeoutSeconds)
    {
        var def = store.Load(id);
        int sig = signal ?? (string.IsNullOrEmpty(def.Config.StopSignal) ? 15 : Linux.Signals.Parse(def.Config.StopSignal));
        ContainerSignals.Stop(store, id, sig, timeoutSeconds ?? def.Config.StopTimeout ?? DefaultStopTimeout);
    }

    /// <summary>Refuses a running container unless forced; then nothing is left, name included (and with removeVolumes, its anonymous volumes).</summary>
    public static void Remove(ContainerStore store, string id, bool force, bool removeVolumes)
    {
        var def = store.Load(id);
        var state = store.State(id);
        if (state.Running)
        {
            if (!force)
            {
                throw new SkiffException(ErrorCategory.Conflict,
                    $"cannot remove container \"/{def.Name}\": container is running: stop the container before removing or force remove");
            }
            ContainerSignals.Stop(store, id, signal: 9, timeoutSeconds: 0);
        }
        store.Delete(id, HostTree.Remove);
        ContainerCgroup.Remove(def);
        if (removeVolumes)
        {
            RemoveAnonymousVolumes(store, def);
        }
    }

    /// <summary>Docker's rm -v and --rm: the container's anonymous volumes go with it, unless another container uses them.</summary>
    public static void RemoveAnonymousVolumes(ContainerStore store, ContainerDefinition def)
    {
        var anonymous = (def.MountPoints ?? []).Where(m => m.Type == "volume" && m.Anonymous && m.Name.Length > 0).ToList();
        if (anonymous.Count == 0)
        {
            return;
        }
        var volumes = new Volumes.VolumeStore(store.Paths.Root,
            () => store.List().Select(d => (d.Id, Volumes.UserMounts.VolumeNamesOf(d.MountPoints ?? []))), HostTree.Remove);
        foreach (var m in anonymous)
        {
            try
            {
                volumes.Remove(m.Name, force: false);
            }
            catch (SkiffException)
            {
                // In use by another container, or gone already: Docker leaves it too.
            }
        }
    }
}

/// <summary>
/// Trees written by containers: rootless, their files belong to subordinate ids, which only
/// a process inside the user namespace may delete.
/// </summary>
public static class HostTree
{
    public static void Remove(string path)
    {
        var sys = LinuxSyscalls.Instance;
        if (Interop.Libc.geteuid() == 0)
        {
            // Real root, or inside the keeper's user namespace (joined before .NET started).
            sys.RemoveTree(path, -1);
            return;
        }
        int keeper = UserNamespaceKeeper.Running();
        if (keeper <= 0)
        {
            var ids = IdMappingResolver.ForCurrentUser();
            keeper = UserNamespaceKeeper.Start(sys, ids.Mapping);
        }
        if (keeper <= 0)
        {
            sys.RemoveTree(path, -1);
            return;
        }
        int ns = sys.OpenNamespace(keeper, "user");
        try
        {
            sys.RemoveTree(path, ns);
        }
        finally
        {
            sys.Close(ns);
        }
    }
}

/// <summary>Signals to a container: through its supervisor, or straight to the process when the supervisor is gone.</summary>
public static class ContainerSignals
{
    /// <summary>Docker's stop: the signal, then SIGKILL after the timeout; returns once it has exited.</summary>
    public static void Stop(ContainerStore store, string id, int signal, int timeoutSeconds)
    {
        var state = store.State(id);
        if (!state.Running)
        {
            return;
        }
        string dir = store.Dir(id).Path;
        if (ContainerStore.ProcessAlive(state.SupervisorPid, state.SupervisorStart) && File.Exists(Path.Combine(dir, "attach.sock")))
        {
            if (File.Exists(Path.Combine(dir, ContainerPause.MarkerFile)))
            {
                // A frozen container cannot act on a signal; Docker thaws it for the kill.
                ContainerFreezer.TryThaw(store, id);
            }
            Supervisor.Stop(dir, signal, timeoutSeconds);
        }
        else
        {
            // A foreground container (its skiff waits for it) or an orphan: signal it directly.
            Kill(state, 9);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (ContainerStore.ProcessAlive(state.Pid, state.PidStart) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(10);
            }
        }
        var waitUntil = DateTime.UtcNow.AddSeconds(5);
        while (store.State(id).Running && DateTime.UtcNow < waitUntil)
        {
            Thread.Sleep(10);
        }
    }

    public static void Signal(ContainerStore store, string id, int signal)
    {
        var state = store.State(id);
        if (!state.Running)
        {
            throw new SkiffException(ErrorCategory.Conflict, $"cannot kill container: {id}: container {id} is not running");
        }
        string dir = store.Dir(id).Path;
        if (signal == 9 && File.Exists(Path.Combine(dir, ContainerPause.MarkerFile)))
        {
            // A frozen process does not die of SIGKILL until it is thawed.
            ContainerFreezer.TryThaw(store, id);
        }
        if (ContainerStore.ProcessAlive(state.SupervisorPid, state.SupervisorStart) && File.Exists(Path.Combine(dir, "attach.sock")))
        {
            Supervisor.Signal(dir, signal);
        }
        else
        {
            Kill(state, signal);
        }
    }

    private static void Kill(ContainerState state, int signal)
    {
        if (!ContainerStore.ProcessAlive(state.Pid, state.PidStart))
        {
            return;
        }
        int fd = Interop.Libc.pidfd_open(state.Pid, 0);
        if (fd < 0)
        {
            return;
        }
        try
        {
            // The pidfd pins the process: checked again, so a reused pid is never signalled.
            if (ContainerStore.ProcessAlive(state.Pid, state.PidStart))
            {
                Interop.Shim.Signal(fd, signal);
            }
        }
        finally
        {
            Interop.Libc.close(fd);
        }
    }
}
