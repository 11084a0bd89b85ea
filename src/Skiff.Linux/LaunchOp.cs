namespace Skiff.Linux;

/// <summary>Mirrors skiff_op_kind in native/skiff.h.</summary>
public enum LaunchOpKind : uint
{
    Propagation = 1,
    Overlay = 2,
    Root = 3,
    MountFs = 4,
    Bind = 5,
    Mkdir = 6,
    MkFile = 7,
    Symlink = 8,
    PivotRoot = 9,
    Hostname = 10,
    LoopbackUp = 11,
    OpenPty = 12,
    StdinNull = 13,
    Chdir = 14,
    Identity = 15,
    Exec = 16,
    Detach = 17,
    WriteFile = 18,
    Mknod = 19,
    Mask = 20,
    SetAttr = 21,
    Rlimit = 22,
    CapsBound = 23,
    Caps = 24,
    NoNewPrivs = 25,
    Seccomp = 26,
    Umask = 27,
    Personality = 28,
    SetNs = 29,
    Fork = 30,
    WaitStart = 31,
    MkdirP = 32,
    MkFileP = 33,
    Hook = 34,
    Sync = 35,
    TimeNs = 36,
}

/// <summary>Mirrors SKIFF_F_* in native/skiff.h.</summary>
[Flags]
public enum LaunchOpFlags : uint
{
    None = 0,
    UserXattr = 1 << 0,
    Volatile = 1 << 1,
    Recursive = 1 << 2,
    FallbackRbind = 1 << 3,
    SetGroups = 1 << 4,
    KeepCaps = 1 << 5,
    ReadOnlyBind = 1 << 6,
    Optional = 1 << 7,
}

/// <summary>MOUNT_ATTR_* from linux/mount.h.</summary>
[Flags]
public enum MountAttr : ulong
{
    None = 0,
    ReadOnly = 0x1,
    NoSuid = 0x2,
    NoDev = 0x4,
    NoExec = 0x8,
    StrictAtime = 0x20,
    NoDirAtime = 0x80,
}

/// <summary>
/// One step the child carries out. Managed code builds a list of these (the launch
/// plan); NativeLaunchPlan lays them out for native/child.c. Field meanings per kind
/// are those of skiff.h; the factory methods below are the only way to make one.
/// </summary>
public sealed record LaunchOp
{
    public LaunchOpKind Kind { get; private init; }
    public LaunchOpFlags Flags { get; private init; }
    public uint U0 { get; private init; }
    public uint U1 { get; private init; }
    public ulong Attr { get; private init; }
    public ulong Attr2 { get; private init; }
    public string? S0 { get; private init; }
    public string? S1 { get; private init; }
    public string? S2 { get; private init; }
    public string? S3 { get; private init; }
    public IReadOnlyList<string>? L0 { get; private init; }
    public IReadOnlyList<string>? L1 { get; private init; }
    public IReadOnlyList<uint>? Ids { get; private init; }

    public const ulong MsRec = 0x4000;
    public const ulong MsPrivate = 1 << 18;

    public static LaunchOp MakePrivate(string hostPath) => Propagation(hostPath, MsRec | MsPrivate);

    /// <summary>mount(NULL, path, NULL, flags): MS_REC with MS_PRIVATE, MS_SLAVE, MS_SHARED or MS_UNBINDABLE.</summary>
    public static LaunchOp Propagation(string hostPath, ulong flags) =>
        new() { Kind = LaunchOpKind.Propagation, S2 = hostPath, Attr = flags };

    public LaunchOp WithFlags(LaunchOpFlags flags) => this with { Flags = flags };

    public static LaunchOp Overlay(IReadOnlyList<string> lowers, string? upper, string? work, string hostTarget, LaunchOpFlags flags) =>
        new() { Kind = LaunchOpKind.Overlay, L0 = lowers, S0 = upper, S1 = work, S2 = hostTarget, Flags = flags };

    public static LaunchOp Root(string hostPath) => new() { Kind = LaunchOpKind.Root, S2 = hostPath };

    public static LaunchOp MountFs(string fsType, string? options, string target, MountAttr attr, string? fallbackBindSource = null) =>
        new()
        {
            Kind = LaunchOpKind.MountFs, S0 = fsType, S1 = options, S2 = target, Attr = (ulong)attr, S3 = fallbackBindSource,
            Flags = fallbackBindSource is null ? LaunchOpFlags.None : LaunchOpFlags.FallbackRbind,
        };

    public static LaunchOp Bind(string hostSource, string target, MountAttr attr, bool recursive) =>
        new()
        {
            Kind = LaunchOpKind.Bind, S3 = hostSource, S2 = target, Attr = (ulong)attr,
            Flags = recursive ? LaunchOpFlags.Recursive : LaunchOpFlags.None,
        };

    public static LaunchOp Mkdir(string path, UnixFileMode mode) => new() { Kind = LaunchOpKind.Mkdir, S2 = path, Attr = (ulong)mode };
    public static LaunchOp MkFile(string path, UnixFileMode mode) => new() { Kind = LaunchOpKind.MkFile, S2 = path, Attr = (ulong)mode };
    public static LaunchOp Symlink(string text, string path) => new() { Kind = LaunchOpKind.Symlink, S0 = text, S2 = path };
    public static LaunchOp PivotRoot() => new() { Kind = LaunchOpKind.PivotRoot };
    public static LaunchOp Hostname(string name) => new() { Kind = LaunchOpKind.Hostname, S0 = name };
    public static LaunchOp LoopbackUp() => new() { Kind = LaunchOpKind.LoopbackUp };

    public static LaunchOp OpenPty(int socketFd, ushort rows, ushort cols) =>
        new() { Kind = LaunchOpKind.OpenPty, U0 = (uint)socketFd, U1 = ((uint)rows << 16) | cols };

    public static LaunchOp StdinNull() => new() { Kind = LaunchOpKind.StdinNull };
    public static LaunchOp Chdir(string path) => new() { Kind = LaunchOpKind.Chdir, S0 = path };

    public static LaunchOp Identity(uint uid, uint gid, IReadOnlyList<uint> groups, bool setGroups) =>
        new()
        {
            Kind = LaunchOpKind.Identity, U0 = uid, U1 = gid, Ids = groups, Attr = (ulong)groups.Count,
            Flags = setGroups ? LaunchOpFlags.SetGroups : LaunchOpFlags.None,
        };

    /// <summary>execve argv; with file set, that file rather than argv[0] (a process named otherwise).</summary>
    public static LaunchOp Exec(IReadOnlyList<string> argv, IReadOnlyList<string> envp, string? searchPath, string? file = null) =>
        new() { Kind = LaunchOpKind.Exec, L0 = argv, L1 = envp, S0 = searchPath, S1 = file };

    public static LaunchOp Detach() => new() { Kind = LaunchOpKind.Detach };

    public static LaunchOp WriteFile(string path, string text) => new() { Kind = LaunchOpKind.WriteFile, S2 = path, S0 = text };

    /// <summary>mknod; rootless (EPERM) binds the host's node at hostFallback instead, when given.</summary>
    public static LaunchOp Mknod(string path, uint mode, ulong dev, uint uid, uint gid, string? hostFallback) =>
        new() { Kind = LaunchOpKind.Mknod, S2 = path, U0 = mode, Attr = dev, U1 = uid, Attr2 = gid, S3 = hostFallback };

    public static LaunchOp Mask(string path) => new() { Kind = LaunchOpKind.Mask, S2 = path };

    /// <summary>mount_setattr: set and clear MOUNT_ATTR_* and/or change propagation (MS_SHARED, ...).</summary>
    public static LaunchOp SetAttr(string path, MountAttr set, MountAttr clear, uint propagation, LaunchOpFlags flags) =>
        new() { Kind = LaunchOpKind.SetAttr, S2 = path, Attr = (ulong)set, Attr2 = (ulong)clear, U0 = propagation, Flags = flags };

    public static LaunchOp Rlimit(uint resource, ulong soft, ulong hard) =>
        new() { Kind = LaunchOpKind.Rlimit, U0 = resource, Attr = soft, Attr2 = hard };

    public static LaunchOp CapsBound(ulong keep) => new() { Kind = LaunchOpKind.CapsBound, Ids = [(uint)keep, (uint)(keep >> 32)] };

    public static LaunchOp Caps(ulong effective, ulong permitted, ulong inheritable, ulong ambient) =>
        new()
        {
            Kind = LaunchOpKind.Caps,
            Ids = [(uint)effective, (uint)(effective >> 32), (uint)permitted, (uint)(permitted >> 32),
                   (uint)inheritable, (uint)(inheritable >> 32), (uint)ambient, (uint)(ambient >> 32), 0, 0],
        };

    public static LaunchOp NoNewPrivs() => new() { Kind = LaunchOpKind.NoNewPrivs };

    /// <summary>
    /// A classic BPF program (8-byte sock_filter entries) for seccomp(SECCOMP_SET_MODE_FILTER).
    /// With SECCOMP_FILTER_FLAG_NEW_LISTENER in flags, the listener fd goes back over listenerSocket.
    /// </summary>
    public static LaunchOp Seccomp(byte[] filter, uint flags, int listenerSocket = -1)
    {
        var words = new uint[filter.Length / 4];
        Buffer.BlockCopy(filter, 0, words, 0, words.Length * 4);
        return new()
        {
            Kind = LaunchOpKind.Seccomp, Ids = words, Attr = (ulong)(filter.Length / 8), U0 = flags,
            U1 = listenerSocket < 0 ? 0 : (uint)listenerSocket,
        };
    }

    /// <summary>SECCOMP_FILTER_FLAG_NEW_LISTENER: the filter's SCMP_ACT_NOTIFY rules need an agent.</summary>
    public const uint SeccompNewListener = 8;

    /// <summary>A new time namespace the child enters at once; offsets is timens_offsets text, or null for none.</summary>
    public static LaunchOp TimeNamespace(string? offsets) => new() { Kind = LaunchOpKind.TimeNs, S0 = offsets };

    public static LaunchOp Umask(uint mask) => new() { Kind = LaunchOpKind.Umask, U0 = mask };
    public static LaunchOp Personality(uint persona) => new() { Kind = LaunchOpKind.Personality, U0 = persona };
    public static LaunchOp SetNs(int fd, CloneFlags type) => new() { Kind = LaunchOpKind.SetNs, U0 = (uint)fd, U1 = (uint)type };
    public static LaunchOp Fork() => new() { Kind = LaunchOpKind.Fork };
    public static LaunchOp WaitStart(int fifoFd) => new() { Kind = LaunchOpKind.WaitStart, U0 = (uint)fifoFd };
    public static LaunchOp MkdirP(string path, UnixFileMode mode) => new() { Kind = LaunchOpKind.MkdirP, S2 = path, Attr = (ulong)mode };
    public static LaunchOp MkFileP(string path) => new() { Kind = LaunchOpKind.MkFileP, S2 = path };

    /// <summary>Report "sync" and wait for the parent's byte (it runs prestart and createRuntime hooks meanwhile).</summary>
    public static LaunchOp Sync() => new() { Kind = LaunchOpKind.Sync };

    /// <summary>A runtime-spec hook run by the child where it stands; phase and index name it in errors.</summary>
    public static LaunchOp Hook(string phase, int index, string path, IReadOnlyList<string> argv, IReadOnlyList<string> envp, int timeoutSeconds) =>
        new() { Kind = LaunchOpKind.Hook, S0 = path, L0 = argv, L1 = envp, U0 = (uint)Math.Max(0, timeoutSeconds), U1 = (uint)index, S3 = phase };

    /// <summary>What this op does, for an error message: "mount proc on /proc".</summary>
    public string Describe() => Kind switch
    {
        LaunchOpKind.Propagation => $"make mounts under {S2} private",
        LaunchOpKind.Overlay => $"mount overlay on {S2} (lower {string.Join(":", L0 ?? [])})",
        LaunchOpKind.Root => $"open root {S2}",
        LaunchOpKind.MountFs => $"mount {S0} on {S2}",
        LaunchOpKind.Bind => $"bind {S3} on {S2}",
        LaunchOpKind.Mkdir => $"mkdir {S2}",
        LaunchOpKind.MkFile => $"create {S2}",
        LaunchOpKind.Symlink => $"symlink {S2} -> {S0}",
        LaunchOpKind.PivotRoot => "pivot_root",
        LaunchOpKind.Hostname => $"sethostname {S0}",
        LaunchOpKind.LoopbackUp => "bring up lo",
        LaunchOpKind.OpenPty => "open the container's terminal",
        LaunchOpKind.StdinNull => "open /dev/null as stdin",
        LaunchOpKind.Chdir => $"chdir to {S0}",
        LaunchOpKind.Identity => $"set user {U0}:{U1}",
        LaunchOpKind.Exec => $"exec {S1 ?? (L0 is { Count: > 0 } ? L0[0] : "")}",
        LaunchOpKind.Detach => "detach from skiff's session",
        LaunchOpKind.WriteFile => $"write {S2}",
        LaunchOpKind.Mknod => $"mknod {S2}",
        LaunchOpKind.Mask => $"mask {S2}",
        LaunchOpKind.SetAttr => $"set mount attributes of {S2}",
        LaunchOpKind.Rlimit => $"setrlimit {U0}",
        LaunchOpKind.CapsBound => "drop capabilities from the bounding set",
        LaunchOpKind.Caps => "set capabilities",
        LaunchOpKind.NoNewPrivs => "set no_new_privs",
        LaunchOpKind.Seccomp => (U0 & SeccompNewListener) != 0 ? "load the seccomp filter and hand its listener over" : "load the seccomp filter",
        LaunchOpKind.Umask => "set umask",
        LaunchOpKind.Personality => "set personality",
        LaunchOpKind.SetNs => $"join namespace {(CloneFlags)U1}",
        LaunchOpKind.Fork => "fork into the joined pid namespace",
        LaunchOpKind.WaitStart => "wait for start",
        LaunchOpKind.MkdirP => $"mkdir -p {S2}",
        LaunchOpKind.MkFileP => $"create {S2}",
        LaunchOpKind.Hook => $"hooks.{S3}[{U1}] {S0}",
        LaunchOpKind.Sync => "wait for the runtime's hooks",
        LaunchOpKind.TimeNs => S0 is null ? "make a time namespace" : $"make a time namespace with offsets {S0.TrimEnd('\n').Replace('\n', ',')}",
        _ => Kind.ToString(),
    };
}
