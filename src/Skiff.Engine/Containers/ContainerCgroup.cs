using System.Globalization;
using Skiff.Linux;
using Skiff.Runtime.Cgroups;

namespace Skiff.Engine.Containers;

/// <summary>
/// Which cgroup a container gets: v2 under a subtree delegated to the user (rootless and
/// rootful), v1 when rootful on a legacy or hybrid host. A limit that cannot be enforced
/// is refused with what is missing; a container without limits never fails for lack of
/// cgroups (it gets a NoCgroup). After it exits, OomKilled says whether the kernel's OOM
/// killer struck in its cgroup (State.OOMKilled).
/// </summary>
public static class ContainerCgroup
{
    public const string CgroupRoot = "/sys/fs/cgroup";

    /// <summary>The run flags of a definition that need a cgroup, as the user typed them.</summary>
    public static List<string> LimitFlags(HostConfig hc)
    {
        var flags = new List<string>(4);
        if (hc.Memory > 0)
        {
            flags.Add("--memory");
        }
        if (hc.MemorySwap > 0)
        {
            flags.Add("--memory-swap");
        }
        if (hc.NanoCpus > 0)
        {
            flags.Add("--cpus");
        }
        if (hc.PidsLimit is > 0)
        {
            flags.Add("--pids-limit");
        }
        return flags;
    }

    /// <summary>
    /// The cgroup to create the container in (not made yet: ICgroup.Create does that), or
    /// an exception that names the flags that cannot be enforced and what is missing.
    /// </summary>
    public static ICgroup For(ContainerDefinition def, bool rootless,
        Func<string?, string, bool, ICgroup>? factory = null, CgroupVersion? layout = null, string root = CgroupRoot)
    {
        factory ??= CgroupFactory.For;
        var limits = LimitFlags(def.HostConfig);
        var version = layout ?? Detect(root);
        if (version == CgroupVersion.None)
        {
            return Refuse(limits, "need", "needs", "cgroups, and no cgroup filesystem is mounted on this host", "");
        }
        if (rootless)
        {
            if (version != CgroupVersion.V2)
            {
                return Refuse(limits, "need", "needs",
                    $"a cgroup v2 subtree delegated to this user; this host has cgroup {CgroupLayout.Describe(version)}, which only root can use",
                    " or run as root");
            }
            uint uid = HostUid();
            string service = $"/user.slice/user-{uid}.slice/user@{uid}.service";
            string serviceDir = root + service;
            if (!Directory.Exists(serviceDir) || Interop.Libc.access(serviceDir, 2 /* W_OK */) != 0)
            {
                return Refuse(limits, "need", "needs",
                    "a cgroup v2 subtree delegated to this user (systemd's user@.service Delegate=yes); this host has none", " or run as root");
            }
            CheckControllers(limits, ReadControllers(Path.Combine(serviceDir, "cgroup.controllers")), $"{serviceDir} (systemd: Delegate= of user@{uid}.service)");
            return factory($"{service}/skiff/{def.Id}", def.Id, true);
        }
        if (version != CgroupVersion.V2 && limits.Count > 0)
        {
            var mounted = CgroupFactory.V1Hierarchies(ProcFile.ReadAllText("/proc/self/mountinfo"));
            CheckControllers(limits, mounted.Keys.ToHashSet(StringComparer.Ordinal), "this host's cgroup v1 mounts");
        }
        return factory(null, def.Id, false);
    }

    private static NoCgroup Refuse(List<string> limits, string plural, string singular, string what, string orElse)
    {
        if (limits.Count == 0)
        {
            return new NoCgroup(what);
        }
        string flags = Join(limits);
        throw SkiffException.Unavailable($"{flags} {(limits.Count > 1 ? plural : singular)} {what}: drop {flags}{orElse}");
    }

    private static void CheckControllers(List<string> limits, IReadOnlySet<string> available, string where)
    {
        foreach (var flag in limits)
        {
            string controller = flag switch
            {
                "--memory" or "--memory-swap" => "memory",
                "--cpus" => "cpu",
                _ => "pids",
            };
            if (!available.Contains(controller))
            {
                throw SkiffException.Unavailable(
                    $"{flag} needs the {controller} controller, which {where} does not have (it has: {(available.Count == 0 ? "none" : string.Join(' ', available.Order()))}): drop {flag}");
            }
        }
    }

    private static HashSet<string> ReadControllers(string file)
    {
        try
        {
            return [.. File.ReadAllText(file).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)];
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static string Join(List<string> flags) =>
        flags.Count == 1 ? flags[0] : string.Join(", ", flags.Take(flags.Count - 1)) + " and " + flags[^1];

    /// <summary>One stat: only the unified hierarchy's root has cgroup.controllers.</summary>
    public static CgroupVersion Detect(string root = CgroupRoot)
    {
        if (File.Exists(Path.Combine(root, "cgroup.controllers")))
        {
            return CgroupVersion.V2;
        }
        bool v1 = Directory.Exists(Path.Combine(root, "memory")) || Directory.Exists(Path.Combine(root, "pids")) || Directory.Exists(Path.Combine(root, "cpu"));
        bool unified = File.Exists(Path.Combine(root, "unified", "cgroup.controllers"));
        return v1 ? (unified ? CgroupVersion.Hybrid : CgroupVersion.V1) : unified ? CgroupVersion.V2 : CgroupVersion.None;
    }

    /// <summary>Whether memory+swap can be limited: v1 needs memsw (swapaccount=1); v2 has memory.swap.max.</summary>
    public static bool SwapLimitSupported(string root = CgroupRoot) => Detect(root) switch
    {
        CgroupVersion.V2 => true,
        CgroupVersion.V1 or CgroupVersion.Hybrid => File.Exists(Path.Combine(root, "memory", "memory.memsw.limit_in_bytes")),
        _ => false,
    };

    /// <summary>Our uid on the host, also inside the keeper's user namespace (where geteuid() says 0).</summary>
    private static uint HostUid()
    {
        uint euid = Interop.Libc.geteuid();
        try
        {
            foreach (var line in File.ReadAllLines("/proc/self/uid_map"))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length == 3 && uint.TryParse(f[0], CultureInfo.InvariantCulture, out uint inside) &&
                    uint.TryParse(f[1], CultureInfo.InvariantCulture, out uint outside) &&
                    uint.TryParse(f[2], CultureInfo.InvariantCulture, out uint count) && euid >= inside && euid - inside < count)
                {
                    return outside + (euid - inside);
                }
            }
        }
        catch (IOException)
        {
        }
        return euid;
    }

    /// <summary>The kernel OOM-killed a process of this cgroup (call before Destroy).</summary>
    /// <summary>
    /// Did the kernel OOM-kill in an exited container's cgroup? Only a container with a
    /// memory limit can say; the cgroup stays until rm.
    /// </summary>
    public static bool OomKilledAfterExit(ContainerDefinition def)
    {
        if (def.HostConfig.Memory <= 0)
        {
            return false;
        }
        try
        {
            return OomKilled(For(def, def.Rootless));
        }
        catch (Exception e) when (e is SkiffException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>rm: the container's cgroup goes with it (best effort: an empty cgroup or none).</summary>
    public static void Remove(ContainerDefinition def)
    {
        try
        {
            For(def, def.Rootless).Destroy();
        }
        catch (Exception e) when (e is SkiffException or IOException or UnauthorizedAccessException)
        {
            // No cgroup (rootless without delegation), or gone already.
        }
    }

    public static bool OomKilled(ICgroup cgroup, string root = CgroupRoot) => OomKillCount(cgroup, root) > 0;

    /// <summary>v2: memory.events "oom_kill N"; v1: memory.oom_control "oom_kill N" in the memory hierarchy.</summary>
    public static long OomKillCount(ICgroup cgroup, string root = CgroupRoot)
    {
        string? file = cgroup switch
        {
            CgroupV2 v2 => root + v2.Path + "/memory.events",
            CgroupV1 v1 => MemoryHierarchy(root) is { } memory ? memory + v1.Path + "/memory.oom_control" : null,
            _ => null,
        };
        if (file is null)
        {
            return 0;
        }
        try
        {
            return ParseOomKill(File.ReadAllText(file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static string? MemoryHierarchy(string root)
    {
        if (root != CgroupRoot)
        {
            return Path.Combine(root, "memory");
        }
        return CgroupFactory.V1Hierarchies(ProcFile.ReadAllText("/proc/self/mountinfo")).GetValueOrDefault("memory");
    }

    /// <summary>The "oom_kill N" line of memory.events or memory.oom_control; 0 without one.</summary>
    public static long ParseOomKill(string text)
    {
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("oom_kill ") &&
                long.TryParse(line["oom_kill ".Length..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            {
                return n;
            }
        }
        return 0;
    }
}
