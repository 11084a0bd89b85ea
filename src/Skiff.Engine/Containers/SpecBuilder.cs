using Skiff.Engine.Seccomp;
using Skiff.Linux;
using Skiff.Oci;
using Skiff.Runtime;
using Skiff.Runtime.Oci;
using Process = Skiff.Oci.Process;

namespace Skiff.Engine.Containers;

/// <summary>
/// A container as an OCI runtime spec, the way Docker's daemon builds one (oci_linux.go
/// over oci.DefaultLinuxSpec): namespaces, mounts, devices, capabilities, masked and
/// read-only paths, seccomp, rlimits, resources and the process. Then Lower turns it into
/// the launch plan through OciLowering, with the image's layers as an overlay root, so
/// `skiff run` and skiff-runc share one lowering.
/// <code>
/// var spec = SpecBuilder.Build(def, ctx);             // checks everything; makes only -v's missing host dirs
/// var cgroup = ContainerCgroup.For(def, ctx.Rootless); // or throws what a limit is missing
/// cgroup.Create(spec.Linux!.Resources);
/// var plan = SpecBuilder.Lower(spec, def, ctx with { CgroupFd = cgroup.OpenForClone(), ConsoleFd = ... });
/// child = sys.Launch(plan); ChildStart.MapAndGo(...); // AddProcess when CgroupFd is -1, as ContainerLaunch does
/// </code>
/// </summary>
public static class SpecBuilder
{
    private static readonly string[] DefaultMaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/sched_debug",
        "/proc/scsi", "/proc/timer_list", "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
    ];

    private static readonly string[] DefaultReadonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    /// <summary>go-units' ulimit names (plus "as", which the Engine API passes through as Docker's daemon does).</summary>
    private static readonly string[] UlimitNames =
        ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack", "as"];

    public const long MinimumMemory = 6 * 1024 * 1024;
    public const ulong CpuPeriod = 100_000;

    public static RuntimeSpec Build(ContainerDefinition def, SpecContext ctx)
    {
        var hc = def.HostConfig;
        var config = def.Config;
        if (string.IsNullOrEmpty(def.Path))
        {
            throw SkiffException.Invalid("no command specified");
        }

        // Everything that can be refused is checked before anything is made.
        ulong caps = ContainerCapabilities.Resolve(hc.Privileged, hc.CapAdd, hc.CapDrop);
        var security = SecurityOptions.Parse(hc.SecurityOpt);
        var rlimits = Rlimits(hc.Ulimits);
        var resources = Resources(def, ctx.Rootless, ctx.Warn);
        bool ownNet = ctx.OwnNetwork ?? OwnNetwork(hc.NetworkMode);
        string? init = hc.Init == true ? InitBinary(ctx.InitPath) : null;
        string cwd = config.WorkingDir is { Length: > 0 } w ? w : "/";
        if (!cwd.StartsWith('/'))
        {
            throw SkiffException.Invalid($"the working directory '{cwd}' is invalid, it needs to be an absolute path");
        }
        if (ctx.Rootless && config.Domainname.Length > 0)
        {
            // The launch plan writes /proc/sys/kernel/domainname, which only the host's root may;
            // setdomainname(2) in the container's uts namespace would do (a launch op to come).
            throw SkiffException.Unavailable("--domainname is not supported by rootless skiff yet: drop --domainname or run as root");
        }
        var seccomp = hc.Privileged || security.Seccomp == SeccompMode.Unconfined ? null : Seccomp(security, caps);

        string hostname = ctx.Hostname is { Length: > 0 } given ? given
            : config.Hostname is { Length: > 0 } h ? h : ownNet ? SkiffPaths.ShortId(def.Id) : HostHostname();
        var user = ctx.User;
        var process = new Process
        {
            Terminal = config.Tty,
            ConsoleSize = config.Tty ? ConsoleSize(ctx, hc) : null,
            User = new User { Uid = user.Uid, Gid = user.Gid, AdditionalGids = [.. user.Groups] },
            Args = Args(def, init is not null),
            Env = LaunchPlanLowering.Environment(new ContainerSpec
            {
                Id = def.Id, Layers = def.Layers, Args = def.Args, Env = config.Env ?? [], Tty = config.Tty,
            }, user, hostname),
            Cwd = cwd,
            Capabilities = Capabilities(caps, user.Uid),
            Rlimits = rlimits,
            NoNewPrivileges = security.NoNewPrivileges,
            ApparmorProfile = security.AppArmorProfile is { Length: > 0 } aa && aa != "unconfined" && AppArmorEnabled() ? aa : null,
        };

        var linux = new LinuxSpec
        {
            Namespaces = Namespaces(ctx, ownNet, CgroupsOf(ctx) == CgroupVersion.V2),
            Resources = resources,
            Seccomp = seccomp,
            Devices = hc.Privileged ? HostDevices.List() : null,
            MaskedPaths = hc.Privileged || security.UnmaskSystemPaths ? null : MaskedPaths(),
            ReadonlyPaths = hc.Privileged || security.UnmaskSystemPaths ? null : [.. DefaultReadonlyPaths],
        };
        if (ctx.NewUserNamespace)
        {
            linux.UidMappings = IdMaps(ctx.Mapping.Uids);
            linux.GidMappings = IdMaps(ctx.Mapping.Gids);
        }
        if (ownNet)
        {
            // Docker's defaults for a network namespace of the container's own: ports below
            // 1024 without CAP_NET_BIND_SERVICE; ICMP sockets (not in a user namespace, whose
            // gid range the kernel would refuse).
            linux.Sysctl = new Dictionary<string, string>(2) { ["net.ipv4.ip_unprivileged_port_start"] = "0" };
            if (!ctx.Rootless)
            {
                linux.Sysctl["net.ipv4.ping_group_range"] = "0 2147483647";
            }
        }
        var mounts = ContainerMounts.Build(hc, new ContainerMounts.Options
        {
            ReadonlyRootfs = hc.ReadonlyRootfs,
            Privileged = hc.Privileged,
            WritableCgroups = security.WritableCgroups,
            PtsGid5 = ctx.Mapping.MapsGid(5),
            HostsPath = EtcFile(ctx.HostsPath, ctx.Dir, "hosts"),
            HostnamePath = EtcFile(ctx.HostnamePath, ctx.Dir, "hostname"),
            ResolvConfPath = EtcFile(ctx.ResolvConfPath, ctx.Dir, "resolv.conf"),
            ResolveVolume = ctx.ResolveVolume,
            InitPath = init,
        }, def.MountPoints);

        return new RuntimeSpec
        {
            OciVersion = "1.2.0",
            Process = process,
            Root = new Root { Path = ctx.Dir.RootFs, Readonly = hc.ReadonlyRootfs },
            Hostname = hostname,
            Domainname = config.Domainname is { Length: > 0 } d ? d : null,
            Mounts = mounts,
            Linux = linux,
        };
    }

    /// <summary>Build then Lower, for a caller with nothing to do in between.</summary>
    public static LaunchPlan Lower(ContainerDefinition def, SpecContext ctx) => Lower(Build(def, ctx), def, ctx);

    /// <summary>
    /// The launch plan of a spec from Build: OciLowering with the image's layers mounted as
    /// an overlay on DIR/rootfs (volatile with --rm), the seccomp program from the cache,
    /// loopback up in a new network namespace and /dev/null as stdin without -i or -t.
    /// </summary>
    public static LaunchPlan Lower(RuntimeSpec spec, ContainerDefinition def, SpecContext ctx)
    {
        (byte[], uint)? seccomp = null;
        if (spec.Linux?.Seccomp is { } profile)
        {
            var program = new SeccompCache(ctx.CacheDir).Compile(profile);
            seccomp = (program.Filter, program.Flags);
        }
        var dir = ctx.Dir;
        bool newNet = false;
        foreach (var ns in spec.Linux?.Namespaces ?? [])
        {
            newNet |= ns.Type == "network" && string.IsNullOrEmpty(ns.Path);
        }
        var launch = new OciLaunchContext
        {
            Rootless = ctx.Rootless,
            StartFifoFd = ctx.StartFifoFd,
            ConsoleFd = ctx.ConsoleFd,
            Joins = ctx.Joins,
            SetGroupsDenied = ctx.SetGroupsDenied,
            Seccomp = seccomp,
            ParentDeathSignal = ctx.ParentDeathSignal,
            CgroupFd = ctx.CgroupFd,
            CloneParent = ctx.CloneParent,
            Overlay = new OverlayRoot(def.Layers, dir.Upper, dir.Work, dir.RootFs, Volatile: def.HostConfig.AutoRemove, UserXattr: ctx.Rootless),
            LoopbackUp = newNet,
            StdinNull = spec.Process is { Terminal: false } && !def.Config.OpenStdin,
        };
        return OciLowering.LowerCreate(new SpecLoader.Loaded(spec, dir.Path, dir.RootFs, null), launch);
    }

    /// <summary>
    /// The container's linux.resources alone, exactly what Build puts there (the limits, and
    /// for root's containers Docker's device rules), for a cgroup made before the spec.
    /// </summary>
    public static Resources Resources(ContainerDefinition def, bool rootless, Action<string>? warn = null)
    {
        var hc = def.HostConfig;
        var resources = Resources(hc, warn);
        if (!rootless)
        {
            // Root's containers keep CAP_MKNOD: the device cgroup is what stops a made node being opened.
            resources.Devices = hc.Privileged ? [new DeviceCgroup { Allow = true, Access = "rwm" }] : DefaultDeviceRules();
        }
        return resources;
    }

    private static string? EtcFile(string? given, ContainerDirectory dir, string name)
    {
        if (given is not null)
        {
            return given.Length == 0 ? null : given;
        }
        string path = Path.Combine(dir.Path, name);
        return File.Exists(path) ? path : null;
    }

    private static List<string> Args(ContainerDefinition def, bool init)
    {
        var args = new List<string>(def.Args.Count + 3);
        if (init)
        {
            args.Add(ContainerMounts.InitTarget);
            args.Add("--");
        }
        args.Add(def.Path);
        args.AddRange(def.Args);
        return args;
    }

    private static string InitBinary(string path)
    {
        if (!File.Exists(path))
        {
            throw SkiffException.Unavailable(
                $"exec: \"docker-init\": executable file not found: --init binds {path} into the container; install the package catatonit");
        }
        return path;
    }

    /// <summary>Docker's rule (oci.SetCapabilities): root holds them; another user only in its bounding set, as execve would leave it.</summary>
    private static Skiff.Oci.Capabilities Capabilities(ulong mask, uint uid)
    {
        var names = ContainerCapabilities.Names(mask);
        return uid == 0
            ? new Skiff.Oci.Capabilities { Bounding = names, Effective = names, Permitted = names }
            : new Skiff.Oci.Capabilities { Bounding = names };
    }

    private static ConsoleSize? ConsoleSize(SpecContext ctx, HostConfig hc)
    {
        uint rows = ctx.TerminalSize.Rows, cols = ctx.TerminalSize.Cols;
        if ((rows == 0 || cols == 0) && hc.ConsoleSize is [var r, var c])
        {
            (rows, cols) = (r, c);
        }
        return rows == 0 || cols == 0 ? null : new ConsoleSize { Height = rows, Width = cols };
    }

    public static bool OwnNetwork(string? mode) => mode switch
    {
        null or "" or "none" or "private" or "default" or "bridge" => true,
        "host" => false,
        _ => throw SkiffException.Invalid($"network mode \"{mode}\" is not supported: use none, host or private"),
    };

    private static List<Namespace> Namespaces(SpecContext ctx, bool ownNet, bool cgroupV2)
    {
        var list = new List<Namespace>(7);
        if (ctx.NewUserNamespace)
        {
            list.Add(new Namespace { Type = "user" });
        }
        list.Add(new Namespace { Type = "mount" });
        if (ownNet)
        {
            list.Add(new Namespace { Type = "network", Path = ctx.NetworkNamespacePath });
        }
        list.Add(new Namespace { Type = "uts" });
        list.Add(new Namespace { Type = "pid" });
        list.Add(new Namespace { Type = "ipc" });
        if (cgroupV2)
        {
            // Docker's default on a v2 host: the container sees its own cgroup as the root.
            list.Add(new Namespace { Type = "cgroup" });
        }
        return list;
    }

    private static List<IdMap> IdMaps(IdRange[] ranges)
    {
        var maps = new List<IdMap>(ranges.Length);
        foreach (var r in ranges)
        {
            maps.Add(new IdMap { ContainerId = r.ContainerId, HostId = r.HostId, Size = r.Size });
        }
        return maps;
    }

    private static CgroupVersion CgroupsOf(SpecContext ctx) => ctx.Cgroups ?? ContainerCgroup.Detect();

    /// <summary>Docker's list, plus each CPU's thermal_throttle where the kernel has one (only when cpu0 does).</summary>
    private static List<string> MaskedPaths()
    {
        var paths = new List<string>(DefaultMaskedPaths.Length + 2);
        paths.AddRange(DefaultMaskedPaths);
        paths.AddRange(ThermalThrottle.Value);
        return paths;
    }

    private static readonly Lazy<string[]> ThermalThrottle = new(() =>
    {
        if (!Directory.Exists("/sys/devices/system/cpu/cpu0/thermal_throttle"))
        {
            return [];
        }
        var found = new List<string>();
        foreach (var cpu in Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*"))
        {
            string name = Path.GetFileName(cpu);
            if (name.Length > 3 && name.AsSpan(3).IndexOfAnyExceptInRange('0', '9') < 0 && Directory.Exists(Path.Combine(cpu, "thermal_throttle")))
            {
                found.Add(Path.Combine(cpu, "thermal_throttle"));
            }
        }
        return [.. found];
    });

    /// <summary>Docker's default device cgroup: nothing but null, zero, urandom, random, tty, console; never fuse.</summary>
    private static List<DeviceCgroup> DefaultDeviceRules() =>
    [
        new() { Allow = false, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 5, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 9, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 8, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 5, Minor = 0, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 5, Minor = 1, Access = "rwm" },
        new() { Allow = false, Type = "c", Major = 10, Minor = 229, Access = "rwm" },
    ];

    private static List<Rlimit>? Rlimits(List<Ulimit>? ulimits)
    {
        if (ulimits is not { Count: > 0 })
        {
            return null;
        }
        var list = new List<Rlimit>(ulimits.Count);
        foreach (var u in ulimits)
        {
            if (Array.IndexOf(UlimitNames, u.Name) < 0)
            {
                throw SkiffException.Invalid($"invalid ulimit type: {u.Name}");
            }
            if (u.Soft > u.Hard && u.Hard >= 0)
            {
                throw SkiffException.Invalid($"ulimit soft limit must be less than or equal to hard limit: {u.Soft} > {u.Hard}");
            }
            string type = "RLIMIT_" + u.Name.ToUpperInvariant();
            // A later --ulimit of the same name wins, as in Docker's map of them.
            list.RemoveAll(r => r.Type == type);
            list.Add(new Rlimit { Type = type, Soft = (ulong)u.Soft, Hard = (ulong)u.Hard });
        }
        return list;
    }

    /// <summary>--memory, --memory-swap, --cpus and --pids-limit, checked with Docker's messages.</summary>
    private static Resources Resources(HostConfig hc, Action<string>? warn)
    {
        var r = new Resources();
        if (hc.Memory != 0 && hc.Memory < MinimumMemory)
        {
            throw SkiffException.Invalid("Minimum memory limit allowed is 6MB");
        }
        if (hc.Memory == 0 && hc.MemorySwap > 0)
        {
            throw SkiffException.Invalid("You should always set the Memory limit when using Memoryswap limit, see usage");
        }
        if (hc.Memory > 0 && hc.MemorySwap > 0 && hc.MemorySwap < hc.Memory)
        {
            throw SkiffException.Invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
        }
        if (hc.Memory > 0)
        {
            // Docker: no --memory-swap is twice the memory, -1 unlimited swap; a kernel that
            // cannot limit swap gets the memory limit alone, with Docker's warning.
            long swap = hc.MemorySwap == 0 ? hc.Memory * 2 : hc.MemorySwap;
            r.Memory = new Memory { Limit = hc.Memory };
            if (ContainerCgroup.SwapLimitSupported())
            {
                r.Memory.Swap = swap;
            }
            else if (swap > 0)
            {
                warn?.Invoke("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.");
            }
        }
        if (hc.NanoCpus != 0)
        {
            int cpus = Environment.ProcessorCount;
            if (hc.NanoCpus < 0 || hc.NanoCpus > cpus * 1_000_000_000L)
            {
                throw SkiffException.Invalid($"Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available");
            }
            r.Cpu = new Cpu { Quota = hc.NanoCpus * (long)CpuPeriod / 1_000_000_000L, Period = CpuPeriod };
        }
        if (hc.PidsLimit is { } pids && pids > 0)
        {
            r.Pids = new Pids { Limit = pids };
        }
        return r;
    }

    /// <summary>The profile: Docker's default, or the file (or inline JSON) of seccomp=, for this bounding set.</summary>
    private static LinuxSeccomp? Seccomp(SecurityOptions security, ulong caps)
    {
        DockerSeccompProfile profile;
        if (security.Seccomp == SeccompMode.Custom)
        {
            string value = security.SeccompProfile!;
            if (value.TrimStart().StartsWith('{'))
            {
                profile = DockerSeccomp.Parse(System.Text.Encoding.UTF8.GetBytes(value), "the profile given with seccomp=");
            }
            else
            {
                byte[] bytes;
                try
                {
                    bytes = File.ReadAllBytes(value);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    string why = e is FileNotFoundException or DirectoryNotFoundException ? "no such file or directory" : e.Message;
                    throw SkiffException.Invalid($"opening seccomp profile ({value}) failed: {why}");
                }
                profile = DockerSeccomp.Parse(bytes, value);
            }
        }
        else
        {
            profile = DockerSeccomp.Default;
        }
        return DockerSeccomp.Convert(profile, caps, DockerSeccomp.NativeArch, DockerSeccomp.Kernel);
    }

    private static string HostHostname()
    {
        try
        {
            return ProcFile.ReadAllText("/proc/sys/kernel/hostname").Trim();
        }
        catch (IOException)
        {
            return Environment.MachineName;
        }
    }

    private static bool AppArmorEnabled()
    {
        try
        {
            return File.ReadAllText("/sys/module/apparmor/parameters/enabled").Trim() == "Y";
        }
        catch (IOException)
        {
            return false;
        }
    }
}
