using System.Text;

namespace Skiff.Linux;

/// <summary>ISyscalls on the real kernel, through native/ and libc.</summary>
public sealed unsafe class LinuxSyscalls : ISyscalls
{
    public static LinuxSyscalls Instance { get; } = new();

    public void CreateDirectory(string path, UnixFileMode mode)
    {
        try
        {
            Directory.CreateDirectory(path, mode);
        }
        catch (IOException e)
        {
            throw new SkiffException(ErrorCategory.Internal, $"mkdir {path}: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new SkiffException(ErrorCategory.Internal, $"mkdir {path}: {e.Message}", e);
        }
    }

    public void RemoveTree(string path, int userNamespaceFd) =>
        SystemCallException.Check(Interop.Shim.RemoveTree(userNamespaceFd, path), $"remove {path}");

    public LaunchedChild Launch(LaunchPlan plan)
    {
        using var native = new NativeLaunchPlan(plan);
        Interop.Shim.Child c;
        SystemCallException.Check(Interop.Shim.Launch(native.Plan, &c), "clone3");
        return new LaunchedChild(c.Pid, c.PidFd, c.SyncFd, c.ErrFd);
    }

    public int OpenNamespace(int pid, string kind)
    {
        string path = $"/proc/{pid}/ns/{kind}";
        int fd = Interop.Libc.open(path, Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw new SystemCallException($"open {path}", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
        return fd;
    }

    public void WriteFile(string path, string contents)
    {
        // /proc files want the whole text in one write(2).
        int fd = Interop.Libc.open(path, 1 /* O_WRONLY */ | Interop.Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw new SystemCallException($"open {path}", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
        try
        {
            byte[] bytes = Encoding.UTF8.GetBytes(contents);
            fixed (byte* b = bytes)
            {
                SystemCallException.Check(Interop.Libc.WriteAll(fd, b, bytes.Length), $"write {path}");
            }
        }
        finally
        {
            Interop.Libc.close(fd);
        }
    }

    public int Run(string path, IReadOnlyList<string> argv)
    {
        var plan = new LaunchPlan();
        plan.Ops.Add(LaunchOp.Exec(argv, [], null));
        using var native = new NativeLaunchPlan(plan);
        var exec = native.Plan->Ops;
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            return SystemCallException.Check(Interop.Shim.SpawnWait(pp, exec->L0, null), $"run {path}");
        }
    }

    public void Release(LaunchedChild child, bool go)
    {
        if (child.SyncFd < 0)
        {
            return;
        }
        int rc = Interop.Shim.Release(child.SyncFd, go ? 1 : 0);
        child.SyncFd = -1;
        SystemCallException.Check(rc, "release the container process");
    }

    public void ReleaseWithState(LaunchedChild child, byte[]? state, bool keepOpen)
    {
        int rc;
        fixed (byte* s = state)
        {
            rc = Interop.Shim.ReleaseState(child.SyncFd, s, state?.Length ?? 0, keepOpen ? 1 : 0);
        }
        if (!keepOpen)
        {
            child.SyncFd = -1;
        }
        SystemCallException.Check(rc, "send the container's state to its hooks");
    }

    public ChildFailure? AwaitExec(LaunchedChild child)
    {
        Interop.Shim.Failure f;
        int rc = Interop.Shim.AwaitExec(child.ErrFd, &f);
        child.ErrFd = -1;
        SystemCallException.Check(rc, "read the container's start report");
        return rc == 0 ? null : new ChildFailure(f.OpIndex, (ChildStep)f.Step, f.Err);
    }

    public ChildFailure? ReadReport(LaunchedChild child)
    {
        Interop.Shim.Failure f;
        int rc = Interop.Shim.ReadReport(child.ErrFd, &f);
        SystemCallException.Check(rc, "read the container's report");
        return rc == 0 ? null : new ChildFailure(f.OpIndex, (ChildStep)f.Step, f.Err);
    }

    public int Wait(LaunchedChild child) => SystemCallException.Check(Interop.Shim.Wait(child.PidFd), "wait for the container");

    public int OpenPidFd(int pid)
    {
        int fd = Interop.Libc.pidfd_open(pid, 0);
        return fd >= 0 ? fd : throw new SystemCallException($"pidfd_open {pid}", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
    }

    public int WaitForwarding(LaunchedChild child, int ptyMaster) =>
        SystemCallException.Check(Interop.Shim.WaitForwarding(child.PidFd, ptyMaster), "wait for the container");

    public void HoldSignals(bool hold)
    {
        if (hold)
        {
            Interop.Shim.ForwardBegin();
        }
        else
        {
            Interop.Shim.ForwardEnd();
        }
    }

    public void Signal(LaunchedChild child, int signal)
    {
        int rc = Interop.Shim.Signal(child.PidFd, signal);
        if (rc < 0 && rc != -Errno.ESRCH)
        {
            SystemCallException.Check(rc, $"signal {signal}");
        }
    }

    public void Close(int fd)
    {
        if (fd >= 0)
        {
            Interop.Libc.close(fd);
        }
    }

    public (int Parent, int Child) SocketPair()
    {
        int* sv = stackalloc int[2];
        if (Interop.Libc.socketpair(Interop.Libc.AF_UNIX, Interop.Libc.SOCK_STREAM | Interop.Libc.SOCK_CLOEXEC, 0, sv) < 0)
        {
            throw new SystemCallException("socketpair", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
        return (sv[0], sv[1]);
    }

    public int ReceiveFd(int socket) => SystemCallException.Check(Interop.Shim.RecvFd(socket), "receive an fd from the container");

    public int ConnectUnix(string path) => SystemCallException.Check(Interop.Shim.ConnectUnix(path), $"connect to {path}");

    public void SendFd(int socket, byte[] message, int fd)
    {
        fixed (byte* p = message)
        {
            SystemCallException.Check(Interop.Shim.SendFd(socket, p, message.Length, fd), "sendmsg");
        }
    }
}
