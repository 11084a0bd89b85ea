using System.Globalization;
using System.Text;

namespace Skiff.Linux;

/// <summary>
/// The per-user process that holds a user namespace with the full id mapping
/// (native/keeper.c). A rootless skiff joins it before .NET starts; when there is none
/// yet, Start makes one so the next command can.
/// </summary>
public static unsafe class UserNamespaceKeeper
{
    /// <summary>The keeper this process joined at start, or 0.</summary>
    public static int Joined => Interop.Shim.KeeperJoined();

    /// <summary>$XDG_RUNTIME_DIR/skiff when it is ours, else /tmp/skiff-run-UID; /run/skiff as root.</summary>
    public static string RuntimeDir()
    {
        byte* buf = stackalloc byte[4096];
        int n = SystemCallException.Check(Interop.Shim.RuntimeDir(buf, 4096), "runtime directory");
        return Encoding.UTF8.GetString(buf, n);
    }

    public static string PidFile => Path.Combine(RuntimeDir(), Interop.Shim.KeeperPidFile);

    /// <summary>The live keeper's pid, or 0.</summary>
    public static int Running() => Math.Max(0, Interop.Shim.KeeperRead(PidFile));

    /// <summary>
    /// Starts a keeper with this mapping unless one runs. Serialised by a lock file so
    /// two skiff processes never start two; the pid file is written atomically.
    /// </summary>
    public static int Start(ISyscalls sys, IdMapping mapping)
    {
        if (mapping.Mode == IdMapMode.Host || mapping.Joined)
        {
            return 0;
        }
        string dir = RuntimeDir();
        sys.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var lockFile = new FileStream(Path.Combine(dir, "userns-keeper.lock"), FileMode.OpenOrCreate,
            FileAccess.ReadWrite, FileShare.ReadWrite);
        if (Interop.Libc.flock((int)lockFile.SafeFileHandle.DangerousGetHandle(), Interop.Libc.LOCK_EX) < 0)
        {
            throw new SystemCallException($"lock {lockFile.Name}", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
        int running = Running();
        if (running > 0)
        {
            return running;
        }

        var plan = new LaunchPlan { CloneFlags = CloneFlags.NewUser, WaitForParent = true };
        plan.Ops.Add(LaunchOp.Detach());
        plan.Ops.Add(LaunchOp.Exec([Interop.Shim.KeeperArgv0], [], null, file: "/proc/self/exe"));
        var child = sys.Launch(plan);
        try
        {
            if (ChildStart.MapAndGo(sys, child, mapping) is { } failure)
            {
                throw SkiffException.Internal($"start the user namespace keeper: {failure.Step}: {Errno.Describe(failure.Errno)}");
            }
            ulong start;
            SystemCallException.Check(Interop.Shim.ProcessStartTime(child.Pid, &start), "read the keeper's start time");
            string tmp = PidFile + ".tmp";
            File.WriteAllText(tmp, string.Create(CultureInfo.InvariantCulture, $"{child.Pid} {start}\n"));
            File.Move(tmp, PidFile, overwrite: true);
            return child.Pid;
        }
        finally
        {
            sys.Close(child.SyncFd);
            sys.Close(child.ErrFd);
            sys.Close(child.PidFd);
        }
    }
}
