using Skiff.Linux;
using Skiff.Oci;
using Process = Skiff.Oci.Process;

namespace Skiff.Runtime.Oci;

/// <summary>What a runtime-spec process and container are lowered against.</summary>
public sealed record OciLaunchContext
{
    /// <summary>Not real root: mknod falls back to binding the host's nodes.</summary>
    public bool Rootless { get; init; }
    /// <summary>create: the exec fifo (O_RDWR) the child blocks on until start; -1 for run-to-exec.</summary>
    public int StartFifoFd { get; init; } = -1;
    /// <summary>A unix socket connected to --console-socket (or our own pair) when process.terminal.</summary>
    public int ConsoleFd { get; init; } = -1;
    /// <summary>Namespaces to join, by fd, in the order given (user first).</summary>
    public IReadOnlyList<(CloneFlags Type, int Fd)> Joins { get; init; } = [];
    /// <summary>setgroups(2) is denied (an unprivileged writer of the gid map).</summary>
    public bool SetGroupsDenied { get; init; }
    /// <summary>A seccomp program compiled from linux.seccomp, or null.</summary>
    public (byte[] Filter, uint Flags)? Seccomp { get; init; }
    /// <summary>The child's end of a unix socket for the seccomp listener (the filter notifies), or -1.</summary>
    public int SeccompListenerFd { get; init; } = -1;
    public int ParentDeathSignal { get; init; }
    /// <summary>The container's cgroup for CLONE_INTO_CGROUP (v2), or -1.</summary>
    public int CgroupFd { get; init; } = -1;
    /// <summary>--preserve-fds: fds 3..3+N-1 stay open across exec.</summary>
    public uint PreserveFds { get; init; }

    // The engine's containers (skiff run/create); skiff-runc leaves these unset.

    /// <summary>Mount the image's layers as the root instead of binding the bundle's rootfs onto itself.</summary>
    public OverlayRoot? Overlay { get; init; }
    /// <summary>Bring lo up in the new network namespace (runc does it for a namespace it creates).</summary>
    public bool LoopbackUp { get; init; }
    /// <summary>/dev/null as stdin: a container without -i or a terminal.</summary>
    public bool StdinNull { get; init; }
    /// <summary>CLONE_PARENT: a supervisor's worker launches the container as the supervisor's child.</summary>
    public bool CloneParent { get; init; }
}

/// <summary>
/// An overlay root: read-only layers (topmost first), the container's upper and work
/// directories and the host directory it is mounted on; volatile for a throw-away
/// container, userxattr inside a user namespace.
/// </summary>
public sealed record OverlayRoot(IReadOnlyList<string> Lowers, string Upper, string Work, string Target, bool Volatile, bool UserXattr);

/// <summary>
/// Lowers a validated runtime-spec config into the flat launch plan of native/child.c:
/// namespaces, the rootfs as its own mount, the spec's mounts and devices, pivot_root,
/// masked and read-only paths, then the process (rlimits, capabilities, user, seccomp).
/// Pure, like LaunchPlanLowering: nothing happens here.
/// </summary>
public static class OciLowering
{
    private static readonly (string Name, long Major, long Minor)[] DefaultDevices =
        [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

    private static readonly string[] RlimitNames =
        ["RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC",
         "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
         "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"];

    public static CloneFlags? NamespaceFlag(string type) => type switch
    {
        "pid" => CloneFlags.NewPid,
        "network" => CloneFlags.NewNet,
        "mount" => CloneFlags.NewNs,
        "ipc" => CloneFlags.NewIpc,
        "uts" => CloneFlags.NewUts,
        "user" => CloneFlags.NewUser,
        "cgroup" => CloneFlags.NewCgroup,
        "time" => CloneFlags.NewTime,
        _ => null,
    };

    /// <summary>
    /// Namespaces the clone creates: those listed without a path, but a time namespace, which
    /// the child makes itself (<see cref="TimeNamespace"/>).
    /// </summary>
    public static CloneFlags NewNamespaces(RuntimeSpec spec)
    {
        CloneFlags flags = 0;
        foreach (var ns in spec.Linux?.Namespaces ?? [])
        {
            if (string.IsNullOrEmpty(ns.Path))
            {
                flags |= NamespaceFlag(ns.Type) ?? 0;
            }
        }
        return flags & ~CloneFlags.NewTime;
    }

    /// <summary>
    /// A new time namespace (one listed without a path), with linux.timeOffsets as
    /// /proc/self/timens_offsets text; null when the container makes none. A process
    /// cloned into a time namespace freezes its offsets, so the child unshares it and
    /// writes them before it enters.
    /// </summary>
    public static LaunchOp? TimeNamespace(LinuxSpec linux)
    {
        if (linux.Namespaces?.Find(n => n.Type == "time") is not { } ns || !string.IsNullOrEmpty(ns.Path))
        {
            return null;
        }
        if (linux.TimeOffsets is not { Count: > 0 } offsets)
        {
            return LaunchOp.TimeNamespace(null);
        }
        var text = new System.Text.StringBuilder();
        foreach (var (clock, offset) in offsets)
        {
            if (clock is not ("monotonic" or "boottime"))
            {
                throw SkiffException.Invalid($"linux.timeOffsets: unknown clock \"{clock}\" (monotonic or boottime)");
            }
            if (offset.Nanosecs >= 1_000_000_000)
            {
                throw SkiffException.Invalid($"linux.timeOffsets.{clock}.nanosecs: {offset.Nanosecs} is not below one second");
            }
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{clock} {offset.Secs} {offset.Nanosecs}\n");
        }
        return LaunchOp.TimeNamespace(text.ToString());
    }

    public static LaunchPlan LowerCreate(SpecLoader.Loaded loaded, OciLaunchContext ctx)
    {
        var spec = loaded.Spec;
        var linux = spec.Linux ?? new LinuxSpec();
        var newNs = NewNamespaces(spec);
        var plan = new LaunchPlan
        {
            CloneFlags = newNs, WaitForParent = true, ParentDeathSignal = ctx.ParentDeathSignal,
            CgroupFd = ctx.CgroupFd, PreserveFds = ctx.PreserveFds, CloneParent = ctx.CloneParent,
            SendsState = spec.Hooks?.CreateContainer is { Count: > 0 } || (ctx.StartFifoFd >= 0 && spec.Hooks?.StartContainer is { Count: > 0 }),
            KeepSync = RuntimeHooks(spec),
        };
        var ops = plan.Ops;

        foreach (var (type, fd) in ctx.Joins)
        {
            ops.Add(LaunchOp.SetNs(fd, type));
        }
        bool joinsPid = ctx.Joins.Any(j => j.Type == CloneFlags.NewPid);
        if (joinsPid)
        {
            ops.Add(LaunchOp.Fork());
        }
        // In the user namespace the container has by now, so it owns the time namespace.
        if (TimeNamespace(linux) is { } timeNs)
        {
            ops.Add(timeNs);
        }
        if (spec.Process?.OomScoreAdj is { } oom)
        {
            ops.Add(LaunchOp.WriteFile("/proc/self/oom_score_adj", oom.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        // Nothing we mount may reach the host: the whole tree becomes a slave (or as the spec asks).
        ops.Add(RootPropagation(linux.RootfsPropagation));
        if (ctx.Overlay is { } overlay)
        {
            var flags = (overlay.UserXattr ? LaunchOpFlags.UserXattr : 0) | (overlay.Volatile ? LaunchOpFlags.Volatile : 0);
            ops.Add(LaunchOp.Overlay(overlay.Lowers, overlay.Upper, overlay.Work, overlay.Target, flags));
            ops.Add(LaunchOp.Root(overlay.Target));
        }
        else
        {
            // pivot_root wants the root to be a mount point: bind the rootfs onto itself.
            ops.Add(LaunchOp.Bind(loaded.RootFs, loaded.RootFs, 0, recursive: true));
            ops.Add(LaunchOp.Root(loaded.RootFs));
        }

        bool ownNet = newNs.HasFlag(CloneFlags.NewNet) || ctx.Joins.Any(j => j.Type == CloneFlags.NewNet);
        var mounts = spec.Mounts ?? [];
        for (int i = 0; i < mounts.Count; i++)
        {
            AddMount(ops, mounts[i], loaded.Bundle, ownNet, newNs.HasFlag(CloneFlags.NewCgroup));
        }
        AddDevices(ops, linux);

        foreach (var (key, value) in linux.Sysctl ?? [])
        {
            if (key.Contains('/') || key.Contains(".."))
            {
                throw SkiffException.Invalid($"linux.sysctl: invalid key \"{key}\"");
            }
            ops.Add(LaunchOp.WriteFile("/proc/sys/" + key.Replace('.', '/'), value));
        }
        if (!string.IsNullOrEmpty(spec.Domainname))
        {
            ops.Add(LaunchOp.WriteFile("/proc/sys/kernel/domainname", spec.Domainname));
        }

        // createContainer hooks: in the container's namespaces, before pivot_root, so their
        // paths still resolve in the runtime's view of the filesystem (as runc does).
        if (plan.KeepSync)
        {
            // prestart and createRuntime hooks: the runtime runs them now, in its own namespaces,
            // once the container's namespaces and mounts exist and before pivot_root.
            ops.Add(LaunchOp.Sync());
        }
        AddHooks(ops, "createContainer", spec.Hooks?.CreateContainer);
        ops.Add(LaunchOp.PivotRoot());
        foreach (var path in linux.MaskedPaths ?? [])
        {
            ops.Add(LaunchOp.Mask(path));
        }
        foreach (var path in linux.ReadonlyPaths ?? [])
        {
            ops.Add(LaunchOp.SetAttr(path, MountAttr.ReadOnly, 0, 0,
                LaunchOpFlags.ReadOnlyBind | LaunchOpFlags.Recursive | LaunchOpFlags.Optional));
        }
        if (spec.Root?.Readonly == true)
        {
            if (ctx.Overlay is not null)
            {
                // Docker makes a missing working directory before the root turns read-only.
                ops.Add(LaunchOp.MkdirP(spec.Process!.Cwd, (UnixFileMode)0b111_101_101));
            }
            ops.Add(LaunchOp.SetAttr("/", MountAttr.ReadOnly, 0, 0, LaunchOpFlags.None));
        }
        if (!string.IsNullOrEmpty(spec.Hostname))
        {
            ops.Add(LaunchOp.Hostname(spec.Hostname));
        }
        if (ctx.LoopbackUp)
        {
            ops.Add(LaunchOp.LoopbackUp());
        }
        if (ctx.StdinNull)
        {
            ops.Add(LaunchOp.StdinNull());
        }
        AddProcess(ops, spec.Process!, linux, ctx, spec.Hooks?.StartContainer);
        return plan;
    }

    public static bool RuntimeHooks(RuntimeSpec spec) =>
        spec.Hooks?.Prestart is { Count: > 0 } || spec.Hooks?.CreateRuntime is { Count: > 0 };

    private static void AddHooks(List<LaunchOp> ops, string phase, IReadOnlyList<Hook>? hooks)
    {
        for (int i = 0; i < (hooks?.Count ?? 0); i++)
        {
            var h = hooks![i];
            IReadOnlyList<string> argv = h.Args is { Count: > 0 } a ? a : [h.Path];
            ops.Add(LaunchOp.Hook(phase, i, h.Path, argv, h.Env ?? [], h.Timeout ?? 0));
        }
    }

    /// <summary>exec: join the container's namespaces, then the process as create would start it.</summary>
    public static LaunchPlan LowerExec(Process process, LinuxSpec? linux, OciLaunchContext ctx)
    {
        var plan = new LaunchPlan { WaitForParent = false, ParentDeathSignal = ctx.ParentDeathSignal, PreserveFds = ctx.PreserveFds };
        foreach (var (type, fd) in ctx.Joins)
        {
            plan.Ops.Add(LaunchOp.SetNs(fd, type));
        }
        if (ctx.Joins.Any(j => j.Type == CloneFlags.NewPid))
        {
            plan.Ops.Add(LaunchOp.Fork());
        }
        AddProcess(plan.Ops, process, linux ?? new LinuxSpec(), ctx);
        return plan;
    }

    private static void AddProcess(List<LaunchOp> ops, Process process, LinuxSpec linux, OciLaunchContext ctx, IReadOnlyList<Hook>? startHooks = null)
    {
        if (process.Terminal)
        {
            if (ctx.ConsoleFd < 0)
            {
                throw SkiffException.Invalid("process.terminal is true but no --console-socket was given");
            }
            ops.Add(LaunchOp.OpenPty(ctx.ConsoleFd, (ushort)(process.ConsoleSize?.Height ?? 0), (ushort)(process.ConsoleSize?.Width ?? 0)));
        }
        for (int i = 0; i < (process.Rlimits?.Count ?? 0); i++)
        {
            var r = process.Rlimits![i];
            int resource = Array.IndexOf(RlimitNames, r.Type);
            if (resource < 0)
            {
                throw SkiffException.Invalid($"process.rlimits[{i}].type: unknown resource \"{r.Type}\"");
            }
            ops.Add(LaunchOp.Rlimit((uint)resource, r.Soft, r.Hard));
        }
        if (process.User.Umask is { } umask)
        {
            ops.Add(LaunchOp.Umask(umask));
        }
        if (linux.Personality is { } persona)
        {
            uint domain = persona.Domain switch
            {
                "LINUX" => 0,
                "LINUX32" => 8,
                _ => throw SkiffException.Invalid($"linux.personality.domain: unknown \"{persona.Domain}\" (LINUX or LINUX32)"),
            };
            ops.Add(LaunchOp.Personality(domain));
        }
        ops.Add(LaunchOp.Chdir(process.Cwd));

        var caps = process.Capabilities;
        ulong bounding = CapabilitySet.Mask(caps?.Bounding, "process.capabilities.bounding");
        ulong effective = CapabilitySet.Mask(caps?.Effective, "process.capabilities.effective");
        ulong permitted = CapabilitySet.Mask(caps?.Permitted, "process.capabilities.permitted");
        ulong inheritable = CapabilitySet.Mask(caps?.Inheritable, "process.capabilities.inheritable");
        ulong ambient = CapabilitySet.Mask(caps?.Ambient, "process.capabilities.ambient");
        // The kernel raises an ambient capability only when it is permitted and inheritable;
        // specs (runc's own template) list ambient ones without inheritable, so we add them there.
        ambient &= permitted;
        inheritable |= ambient;

        // Without no_new_privs, a seccomp filter needs CAP_SYS_ADMIN: load it while we still have it.
        if (ctx.Seccomp is { } early && !process.NoNewPrivileges)
        {
            ops.Add(LaunchOp.Seccomp(early.Filter, early.Flags, ctx.SeccompListenerFd));
        }
        ops.Add(LaunchOp.CapsBound(bounding));
        var groups = (process.User.AdditionalGids ?? []).Prepend(process.User.Gid).Distinct().ToArray();
        var identity = LaunchOp.Identity(process.User.Uid, process.User.Gid, groups, setGroups: !ctx.SetGroupsDenied);
        ops.Add(identity.WithFlags(identity.Flags | LaunchOpFlags.KeepCaps));
        ops.Add(LaunchOp.Caps(effective, permitted, inheritable, ambient));
        if (process.NoNewPrivileges)
        {
            ops.Add(LaunchOp.NoNewPrivs());
            if (ctx.Seccomp is { } late)
            {
                ops.Add(LaunchOp.Seccomp(late.Filter, late.Flags, ctx.SeccompListenerFd));
            }
        }
        if (!string.IsNullOrEmpty(process.ApparmorProfile))
        {
            ops.Add(LaunchOp.WriteFile("/proc/self/attr/apparmor/exec", "exec " + process.ApparmorProfile));
        }
        if (ctx.StartFifoFd >= 0)
        {
            ops.Add(LaunchOp.WaitStart(ctx.StartFifoFd));
            // startContainer hooks: part of start, in the container, just before the program.
            AddHooks(ops, "startContainer", startHooks);
        }
        var env = process.Env ?? [];
        string? path = env.LastOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal))?[5..];
        ops.Add(LaunchOp.Exec(process.Args!, env, path ?? LaunchPlanLowering.DefaultPath));
    }

    private static void AddMount(List<LaunchOp> ops, Mount m, string bundle, bool ownNet, bool ownCgroupNs)
    {
        var o = MountOptions.Parse(m.Options);
        string type = m.Type ?? "";
        bool bind = o.Bind || type == "bind";
        if (bind)
        {
            string source = m.Source ?? throw SkiffException.Invalid($"mount {m.Destination}: a bind mount needs a source");
            if (!Path.IsPathRooted(source))
            {
                source = Path.GetFullPath(Path.Combine(bundle, source));
            }
            if (!Path.Exists(source))
            {
                throw SkiffException.NotFound($"mount {m.Destination}: source {source}: no such file or directory");
            }
            ops.Add(Directory.Exists(source) ? LaunchOp.MkdirP(m.Destination, (UnixFileMode)0b111_101_101)
                : o.Optional ? LaunchOp.MkFileP(m.Destination).WithFlags(LaunchOpFlags.Optional) : LaunchOp.MkFileP(m.Destination));
            ops.Add(LaunchOp.Bind(source, m.Destination, o.Set, o.Recursive || type == "rbind"));
        }
        else
        {
            ops.Add(LaunchOp.MkdirP(m.Destination, (UnixFileMode)0b111_101_101));
            switch (type)
            {
                case "sysfs":
                    ops.Add(LaunchOp.MountFs("sysfs", Empty(o.Data), m.Destination, o.Set, ownNet ? null : "/sys"));
                    break;
                case "cgroup" or "cgroup2":
                    // A private cgroup namespace may mount cgroup2; otherwise show the host's hierarchy read-only.
                    if (ownCgroupNs && CgroupLayout.Detect(ProcFile.ReadAllText("/proc/self/mountinfo")) == CgroupVersion.V2)
                    {
                        ops.Add(LaunchOp.MountFs("cgroup2", null, m.Destination, o.Set));
                    }
                    else
                    {
                        ops.Add(LaunchOp.Bind("/sys/fs/cgroup", m.Destination, o.Set | MountAttr.ReadOnly, recursive: true));
                    }
                    break;
                case "":
                    throw SkiffException.Invalid($"mount {m.Destination}: no type and no bind option");
                default:
                    ops.Add(LaunchOp.MountFs(type, Empty(o.Data), m.Destination, o.Set));
                    break;
            }
        }
        if (o.Propagation != 0)
        {
            ops.Add(LaunchOp.SetAttr(m.Destination, 0, 0, o.Propagation, o.PropagationRecursive ? LaunchOpFlags.Recursive : LaunchOpFlags.None));
        }
    }

    private static string? Empty(string s) => s.Length == 0 ? null : s;

    private static void AddDevices(List<LaunchOp> ops, LinuxSpec linux)
    {
        var devices = new List<(string Path, uint Mode, ulong Dev, uint Uid, uint Gid)>();
        foreach (var (name, major, minor) in DefaultDevices)
        {
            devices.Add(("/dev/" + name, 0x2000 /* S_IFCHR */ | 0b110_110_110, MakeDev(major, minor), 0, 0));
        }
        for (int i = 0; i < (linux.Devices?.Count ?? 0); i++)
        {
            var d = linux.Devices![i];
            uint type = d.Type switch
            {
                "c" or "u" => 0x2000,
                "b" => 0x6000,
                "p" => 0x1000,
                _ => throw SkiffException.Invalid($"linux.devices[{i}].type: \"{d.Type}\" is not c, u, b or p"),
            };
            if (!d.Path.StartsWith("/dev/", StringComparison.Ordinal))
            {
                throw SkiffException.Invalid($"linux.devices[{i}].path: \"{d.Path}\" must be under /dev");
            }
            devices.RemoveAll(x => x.Path == d.Path);
            devices.Add((d.Path, type | (d.FileMode ?? 0b110_110_110) & 0xFFF, MakeDev(d.Major, d.Minor), d.Uid ?? 0, d.Gid ?? 0));
        }
        foreach (var (path, mode, dev, uid, gid) in devices)
        {
            string dir = Path.GetDirectoryName(path)!;
            if (dir != "/dev")
            {
                ops.Add(LaunchOp.MkdirP(dir, (UnixFileMode)0b111_101_101));
            }
            // Rootless mknod fails: bind the host's node of the same name (crun's way) when it exists.
            ops.Add(LaunchOp.Mknod(path, mode, dev, uid, gid, File.Exists(path) || Directory.Exists(path) ? path : null));
        }
        ops.Add(LaunchOp.Symlink("/proc/self/fd", "/dev/fd"));
        ops.Add(LaunchOp.Symlink("/proc/self/fd/0", "/dev/stdin"));
        ops.Add(LaunchOp.Symlink("/proc/self/fd/1", "/dev/stdout"));
        ops.Add(LaunchOp.Symlink("/proc/self/fd/2", "/dev/stderr"));
        ops.Add(LaunchOp.Symlink("pts/ptmx", "/dev/ptmx"));
    }

    public static ulong MakeDev(long major, long minor) =>
        (((ulong)major & 0xfffff000) << 32) | (((ulong)major & 0xfff) << 8) | (((ulong)minor & 0xffffff00) << 12) | ((ulong)minor & 0xff);

    /// <summary>The propagation the whole mount tree gets before anything is mounted (runc's default: rslave).</summary>
    private static LaunchOp RootPropagation(string? rootfsPropagation) => rootfsPropagation switch
    {
        "shared" or "rshared" => LaunchOp.Propagation("/", LaunchOp.MsRec | MountOptions.MsShared),
        "private" or "rprivate" => LaunchOp.Propagation("/", LaunchOp.MsRec | LaunchOp.MsPrivate),
        "unbindable" or "runbindable" => LaunchOp.Propagation("/", LaunchOp.MsRec | MountOptions.MsUnbindable),
        null or "" or "slave" or "rslave" => LaunchOp.Propagation("/", LaunchOp.MsRec | MountOptions.MsSlave),
        _ => throw SkiffException.Invalid($"linux.rootfsPropagation: unknown \"{rootfsPropagation}\""),
    };
}
