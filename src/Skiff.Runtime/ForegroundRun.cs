using Skiff.Linux;

namespace Skiff.Runtime;

/// <summary>
/// `skiff run` in the foreground: make the container's directory, clone once, write
/// the id maps, let the child go, forward signals, wait on the pidfd, clean up. No
/// daemon, no monitor process, no re-exec. Whatever happens, nothing is left behind:
/// the mounts die with the child's mount namespace and the directory is removed.
/// </summary>
public sealed class ForegroundRun(ISyscalls sys)
{
    public int Execute(ContainerSpec spec, ContainerDirectory dir, IdMapping mapping, ContainerUser user)
    {
        sys.HoldSignals(true);
        try
        {
            MakeDirectories(dir);
        }
        catch
        {
            sys.HoldSignals(false);
            throw;
        }
        int userNs = -1;
        LaunchedChild? child = null;
        (int Parent, int Child) pty = (-1, -1);
        try
        {
            if (spec.Tty)
            {
                pty = sys.SocketPair();
            }
            var plan = LaunchPlanLowering.Lower(spec, dir, mapping, user, pty.Child);
            child = sys.Launch(plan);
            sys.Close(pty.Child);
            pty.Child = -1;
            Start(child, plan, mapping, ref userNs);

            using var session = spec.Tty ? new TerminalSession(sys.ReceiveFd(pty.Parent), spec.Interactive) : null;
            return sys.WaitForwarding(child, session?.Master ?? -1);
        }
        finally
        {
            sys.Close(pty.Parent);
            sys.Close(pty.Child);
            if (child is not null)
            {
                sys.Close(child.SyncFd);
                sys.Close(child.ErrFd);
                sys.Close(child.PidFd);
            }
            try
            {
                sys.RemoveTree(dir.Path, userNs);
            }
            finally
            {
                sys.Close(userNs);
                sys.HoldSignals(false);
            }
        }
    }

    /// <summary>Id maps, the go byte, and the child's report: running, or an exception.</summary>
    private void Start(LaunchedChild child, LaunchPlan plan, IdMapping mapping, ref int userNs)
    {
        int ns = -1;
        try
        {
            var failure = ChildStart.MapAndGo(sys, child, mapping, () =>
            {
                if (mapping.Mode != IdMapMode.Host && !mapping.Joined)
                {
                    // Held so the tree can be removed from inside it after the container is gone.
                    ns = sys.OpenNamespace(child.Pid, "user");
                }
            });
            if (failure is { } f)
            {
                throw ChildFailureMessage.ToException(f, plan);
            }
        }
        finally
        {
            userNs = ns;
        }
    }

    private void MakeDirectories(ContainerDirectory dir)
    {
        var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        sys.CreateDirectory(Path.GetDirectoryName(dir.Path)!, owner);
        sys.CreateDirectory(dir.Path, owner);
        try
        {
            sys.CreateDirectory(dir.Upper, owner | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            sys.CreateDirectory(dir.Work, owner);
            sys.CreateDirectory(dir.RootFs, owner);
        }
        catch
        {
            sys.RemoveTree(dir.Path, -1);
            throw;
        }
    }
}
