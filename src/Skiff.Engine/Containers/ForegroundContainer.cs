using Skiff.Linux;

namespace Skiff.Engine.Containers;

/// <summary>
/// `run --rm` in the foreground, the hot path: no supervisor, no re-exec. skiff itself is
/// the container's parent: it records the container (so ps and exec see it), clones,
/// forwards signals, waits on the pidfd, and removes everything, name included.
/// </summary>
public static class ForegroundContainer
{
    public static int Run(ISyscalls sys, ContainerStore store, ContainerDefinition def, LaunchMode mode, Runtime.Network.INetworkSetup network)
    {
        sys.HoldSignals(true);
        LaunchedContainer? launched = null;
        bool stored = false;
        try
        {
            store.CreateThrowaway(def);
            stored = true;
            var dir = store.Dir(def.Id);
            launched = ContainerLaunch.Launch(sys, def, dir, mode with { HoldUserNamespace = true }, network);
            store.RecordForeground(def.Id, launched.Child.Pid);
            using var session = def.Config.Tty ? new Runtime.TerminalSession(launched.PtyMaster, def.Config.OpenStdin) : null;
            return sys.WaitForwarding(launched.Child, session?.Master ?? -1);
        }
        finally
        {
            try
            {
                // The network helper takes tens of ms to go: let it start now, wait for it last.
                launched?.Network?.StartRelease();
                if (launched is not null)
                {
                    launched.Dispose();
                    sys.Close(launched.Child.PidFd);
                    try
                    {
                        launched.Cgroup?.Destroy();
                    }
                    catch (SkiffException)
                    {
                    }
                }
                if (stored)
                {
                    store.DeleteThrowaway(def, launched?.UserNamespace ?? -1);
                }
                if (launched?.Network is { } net && net.Ports.Count > 0)
                {
                    // Published ports are free again when run returns, as with Docker.
                    net.Dispose();
                }
            }
            finally
            {
                sys.Close(launched?.UserNamespace ?? -1);
                sys.HoldSignals(false);
            }
        }
    }
}
