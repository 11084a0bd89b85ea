namespace Skiff.Runtime.Network;

/// <summary>
/// A pidfd on a running helper (not our child once it daemonized), so ending it never
/// signals a recycled pid, and ending waits until it is really gone (its ports free).
/// </summary>
internal sealed unsafe class ToolWatch
{
    private int _pidFd;
    private readonly int _pid;

    private ToolWatch(int pid, int pidFd)
    {
        _pid = pid;
        _pidFd = pidFd;
    }

    /// <summary>Watches pid; a helper that already exited gives a watch with nothing to do.</summary>
    public static ToolWatch Of(int pid) => new(pid, Interop.Libc.pidfd_open(pid, 0));

    /// <summary>With kill: SIGTERM, up to 2 s to go, then SIGKILL; without: just let go of the pidfd.</summary>
    public void End(bool kill)
    {
        int fd = _pidFd;
        _pidFd = -1;
        if (fd < 0)
        {
            return;
        }
        try
        {
            if (kill && !ToolProcess.Readable(fd, 0))
            {
                Interop.Shim.Signal(fd, NetworkNative.SIGTERM);
                if (!ToolProcess.Readable(fd, 2000))
                {
                    Interop.Shim.Signal(fd, NetworkNative.SIGKILL);
                    ToolProcess.Readable(fd, 2000);
                }
            }
            // Reaps it in the one case it is our child (slirp4netns started without setsid).
            int status;
            NetworkNative.waitpid(_pid, &status, NetworkNative.WNOHANG);
        }
        finally
        {
            Interop.Libc.close(fd);
        }
    }
}
