namespace Skiff.Linux;

/// <summary>A child cloned from a launch plan, before and after it execs.</summary>
public sealed class LaunchedChild(int pid, int pidFd, int syncFd, int errFd)
{
    public int Pid { get; } = pid;
    public int PidFd { get; set; } = pidFd;
    public int SyncFd { get; set; } = syncFd;
    public int ErrFd { get; set; } = errFd;
}

/// <summary>Where and why the child stopped before execve (skiff_failure).</summary>
public readonly record struct ChildFailure(int OpIndex, ChildStep Step, int Errno);

/// <summary>Mirrors skiff_step in native/skiff.h.</summary>
public enum ChildStep
{
    None = 0, Sync, Signals, Propagation, FsOpen, FsConfig, FsMount, Resolve, MoveMount, OpenTree, SetAttr,
    Mkdir, MkFile, Symlink, PivotRoot, Hostname, Loopback, Pty, SendFd, SetSid, Stdio, Chdir,
    SetGroups, SetGid, SetUid, Exec, Plan, CloseFds, ParentDeathSignal,
    WriteFile, Mknod, Chown, Mask, Rlimit, Caps, NoNewPrivs, Seccomp, Personality, SetNs, Fork, WaitStart, Report, Hook,
    TimeNs,
}

/// <summary>
/// The kernel as the parent side of a launch sees it. The real one is LinuxSyscalls;
/// tests use a recording fake that can fail any call with an errno.
/// Every method throws SystemCallException on failure.
/// </summary>
public interface ISyscalls
{
    void CreateDirectory(string path, UnixFileMode mode);
    /// <summary>Removes a tree, from inside userNamespaceFd when >= 0 (rootless upper layers).</summary>
    void RemoveTree(string path, int userNamespaceFd);
    LaunchedChild Launch(LaunchPlan plan);
    /// <summary>Opens /proc/PID/ns/KIND; the caller closes it.</summary>
    int OpenNamespace(int pid, string kind);
    void WriteFile(string path, string contents);
    /// <summary>Runs a helper (newuidmap) and returns its exit code.</summary>
    int Run(string path, IReadOnlyList<string> argv);
    void Release(LaunchedChild child, bool go);
    /// <summary>
    /// The go byte, then the state JSON the plan's hooks read (LaunchPlan.SendsState) when given;
    /// keepOpen leaves the pipe open for the byte a SYNC op waits for (sent later with Release).
    /// </summary>
    void ReleaseWithState(LaunchedChild child, byte[]? state, bool keepOpen);
    ChildFailure? AwaitExec(LaunchedChild child);
    /// <summary>One record from the report pipe, leaving it open (created, a pid, or a failure); null at EOF.</summary>
    ChildFailure? ReadReport(LaunchedChild child);
    int Wait(LaunchedChild child);
    /// <summary>pidfd_open(2) of a process that is already ours (the container a FORK op made).</summary>
    int OpenPidFd(int pid);
    /// <summary>Wait, forwarding skiff's signals to the child (and window sizes to ptyMaster when >= 0).</summary>
    int WaitForwarding(LaunchedChild child, int ptyMaster);
    /// <summary>Hold the forwarded signals from now on (before the clone), so skiff survives a ^C to clean up.</summary>
    void HoldSignals(bool hold);
    void Signal(LaunchedChild child, int signal);
    void Close(int fd);
    /// <summary>A connected AF_UNIX stream pair, close-on-exec; carries the pty master back.</summary>
    (int Parent, int Child) SocketPair();
    /// <summary>Receives one fd sent with SCM_RIGHTS.</summary>
    int ReceiveFd(int socket);
    /// <summary>A unix stream socket connected to path, close-on-exec; the caller closes it.</summary>
    int ConnectUnix(string path);
    /// <summary>Sends message with fd attached (SCM_RIGHTS) to the first part.</summary>
    void SendFd(int socket, byte[] message, int fd);
}
