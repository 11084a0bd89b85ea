namespace Skiff.Linux;

/// <summary>CLONE_* flags from linux/sched.h.</summary>
[Flags]
public enum CloneFlags : ulong
{
    None = 0,
    NewNs = 0x00020000,
    NewCgroup = 0x02000000,
    NewUts = 0x04000000,
    NewIpc = 0x08000000,
    NewUser = 0x10000000,
    NewPid = 0x20000000,
    NewNet = 0x40000000,
    /// <summary>CLONE_NEWTIME: for unshare and setns only (in clone it is CSIGNAL's bit).</summary>
    NewTime = 0x00000080,
}

/// <summary>
/// Everything the child does between clone3 and execve, decided before it starts:
/// parse first, act later. The child walks Ops in order with one switch.
/// </summary>
public sealed class LaunchPlan
{
    public CloneFlags CloneFlags { get; init; }
    /// <summary>The child waits for the parent's go byte (after the id maps are written).</summary>
    public bool WaitForParent { get; init; }
    /// <summary>Signal the child gets if skiff dies first; 0 for none.</summary>
    public int ParentDeathSignal { get; init; }
    public int CgroupFd { get; init; } = -1;
    public uint PreserveFds { get; init; }
    /// <summary>The parent sends the state JSON after the go byte (the plan runs hooks).</summary>
    public bool SendsState { get; init; }
    /// <summary>The sync pipe stays open after the go byte: the plan has a Sync op.</summary>
    public bool KeepSync { get; init; }
    /// <summary>
    /// CLONE_PARENT: the child becomes our parent's child. A supervisor's worker launches
    /// the container this way so the supervisor can wait for it; the worker cannot.
    /// </summary>
    public bool CloneParent { get; set; }
    public List<LaunchOp> Ops { get; } = [];
}
