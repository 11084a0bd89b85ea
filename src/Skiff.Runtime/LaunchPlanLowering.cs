using Skiff.Linux;

namespace Skiff.Runtime;

/// <summary>
/// Lowers a validated ContainerSpec into the flat launch plan the child carries out:
/// the overlay root, /proc, a minimal /dev, a read-only /sys, pivot_root, then the
/// process's identity and execve. Pure: it touches nothing.
/// </summary>
public static class LaunchPlanLowering
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private static readonly ulong DefaultCapabilities = CapabilitySet.Mask(CapabilitySet.DockerDefault, "Docker's default capabilities");

    private static readonly string[] DeviceNodes = ["null", "zero", "full", "random", "urandom", "tty"];

    private const MountAttr Locked = MountAttr.NoSuid | MountAttr.NoDev | MountAttr.NoExec;

    public static LaunchPlan Lower(ContainerSpec spec, ContainerDirectory dir, IdMapping mapping, ContainerUser user, int ptySocketFd = -1)
    {
        bool rootless = mapping.Mode != IdMapMode.Host;
        bool ownNet = spec.Network == NetworkMode.None;
        var clone = CloneFlags.NewNs | CloneFlags.NewPid | CloneFlags.NewIpc | CloneFlags.NewUts;
        bool newUser = rootless && !mapping.Joined;
        if (newUser)
        {
            clone |= CloneFlags.NewUser;
        }
        if (ownNet)
        {
            clone |= CloneFlags.NewNet;
        }
        var plan = new LaunchPlan
        {
            CloneFlags = clone,
            WaitForParent = newUser,
            // skiff run in the foreground owns its container: if skiff dies, so does it.
            ParentDeathSignal = 9,
        };
        var ops = plan.Ops;

        ops.Add(LaunchOp.MakePrivate("/"));
        var overlayFlags = (rootless ? LaunchOpFlags.UserXattr : LaunchOpFlags.None)
                           | (spec.Remove ? LaunchOpFlags.Volatile : LaunchOpFlags.None);
        ops.Add(LaunchOp.Overlay(spec.Layers, dir.Upper, dir.Work, dir.RootFs, overlayFlags));
        ops.Add(LaunchOp.Root(dir.RootFs));

        ops.Add(LaunchOp.Mkdir("/proc", (UnixFileMode)0b101_101_101));
        ops.Add(LaunchOp.MountFs("proc", null, "/proc", Locked));

        AddDev(ops, mapping);

        ops.Add(LaunchOp.Mkdir("/sys", (UnixFileMode)0b101_101_101));
        // sysfs belongs to a network namespace; sharing the host's, show the host's read-only.
        ops.Add(LaunchOp.MountFs("sysfs", null, "/sys", Locked | MountAttr.ReadOnly, ownNet ? null : "/sys"));

        ops.Add(LaunchOp.PivotRoot());
        string hostname = spec.Hostname ?? SkiffPaths.ShortId(spec.Id);
        ops.Add(LaunchOp.Hostname(hostname));
        if (ownNet)
        {
            ops.Add(LaunchOp.LoopbackUp());
        }
        if (spec.Tty)
        {
            ops.Add(LaunchOp.OpenPty(ptySocketFd, spec.TerminalRows, spec.TerminalCols));
        }
        else if (!spec.Interactive)
        {
            ops.Add(LaunchOp.StdinNull());
        }
        ops.Add(LaunchOp.Chdir(spec.WorkingDir));
        // Docker's default capabilities: root keeps them, another user gets them only in its bounding set.
        ops.Add(LaunchOp.CapsBound(DefaultCapabilities));
        ops.Add(LaunchOp.Identity(user.Uid, user.Gid, user.Groups, mapping.AllowsSetGroups).WithFlags(
            (mapping.AllowsSetGroups ? LaunchOpFlags.SetGroups : LaunchOpFlags.None) | LaunchOpFlags.KeepCaps));
        ulong caps = user.Uid == 0 ? DefaultCapabilities : 0;
        ops.Add(LaunchOp.Caps(caps, caps, 0, 0));

        var env = Environment(spec, user, hostname);
        ops.Add(LaunchOp.Exec(spec.Args, env, SearchPath(env)));
        return plan;
    }

    private static void AddDev(List<LaunchOp> ops, IdMapping mapping)
    {
        ops.Add(LaunchOp.Mkdir("/dev", (UnixFileMode)0b111_101_101));
        ops.Add(LaunchOp.MountFs("tmpfs", "mode=755,size=65536k", "/dev", MountAttr.NoSuid | MountAttr.StrictAtime));
        // Device nodes cannot be made in a user namespace; bind the host's, as rootless Podman does.
        foreach (var node in DeviceNodes)
        {
            ops.Add(LaunchOp.MkFile("/dev/" + node, (UnixFileMode)0b110_110_110));
            ops.Add(LaunchOp.Bind("/dev/" + node, "/dev/" + node, MountAttr.NoSuid | MountAttr.NoExec, recursive: false));
        }
        ops.Add(LaunchOp.Mkdir("/dev/pts", (UnixFileMode)0b111_101_101));
        string ptsOptions = "newinstance,ptmxmode=0666,mode=0620" + (mapping.MapsGid(5) ? ",gid=5" : "");
        ops.Add(LaunchOp.MountFs("devpts", ptsOptions, "/dev/pts", MountAttr.NoSuid | MountAttr.NoExec));
        ops.Add(LaunchOp.Symlink("pts/ptmx", "/dev/ptmx"));
        ops.Add(LaunchOp.Mkdir("/dev/shm", (UnixFileMode)0b111_111_111));
        ops.Add(LaunchOp.MountFs("tmpfs", "mode=1777,size=65536k", "/dev/shm", Locked));
        ops.Add(LaunchOp.Mkdir("/dev/mqueue", (UnixFileMode)0b111_111_111));
        ops.Add(LaunchOp.MountFs("mqueue", null, "/dev/mqueue", Locked));
        ops.Add(LaunchOp.Symlink("/proc/self/fd", "/dev/fd"));
        ops.Add(LaunchOp.Symlink("/proc/self/fd/0", "/dev/stdin"));
        ops.Add(LaunchOp.Symlink("/proc/self/fd/1", "/dev/stdout"));
        ops.Add(LaunchOp.Symlink("/proc/self/fd/2", "/dev/stderr"));
        ops.Add(LaunchOp.Symlink("/proc/kcore", "/dev/core"));
    }

    /// <summary>Docker's order: PATH when missing, HOSTNAME, TERM with a tty, HOME from passwd, then -e.</summary>
    public static List<string> Environment(ContainerSpec spec, ContainerUser user, string hostname)
    {
        var env = new List<string>();
        void SetDefault(string key, string value)
        {
            string prefix = key + "=";
            if (!spec.Env.Any(e => e.StartsWith(prefix, StringComparison.Ordinal)))
            {
                env.Add(prefix + value);
            }
        }
        SetDefault("PATH", DefaultPath);
        SetDefault("HOSTNAME", hostname);
        if (spec.Tty)
        {
            SetDefault("TERM", "xterm");
        }
        SetDefault("HOME", user.Home);
        // Later -e entries win over earlier ones with the same key.
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in spec.Env)
        {
            int eq = e.IndexOf('=');
            string key = eq < 0 ? e : e[..eq];
            if (seen.TryGetValue(key, out int at))
            {
                env[at] = e;
            }
            else
            {
                seen[key] = env.Count;
                env.Add(e);
            }
        }
        return env;
    }

    private static string SearchPath(List<string> env)
    {
        foreach (var e in env)
        {
            if (e.StartsWith("PATH=", StringComparison.Ordinal))
            {
                return e[5..];
            }
        }
        return DefaultPath;
    }
}
