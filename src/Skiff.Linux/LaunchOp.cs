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
    public string? S0 { get; private init; }
    public string? S1 { get; private init; }
    public string? S2 { get; private init; }
    public string? S3 { get; private init; }
    public IReadOnlyList<string>? L0 { get; private init; }
    public IReadOnlyList<string>? L1 { get; private init; }
    public IReadOnlyList<uint>? Ids { get; private init; }

    public const ulong MsRec = 0x4000;
    public const ulong MsPrivate = 1 << 18;

    public static LaunchOp MakePrivate(string hostPath) =>
        new() { Kind = LaunchOpKind.Propagation, S2 = hostPath, Attr = MsRec | MsPrivate };

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
        _ => Kind.ToString(),
    };
}
