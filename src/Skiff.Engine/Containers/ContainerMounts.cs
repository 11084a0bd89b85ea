using System.Globalization;
using Skiff.Oci;

namespace Skiff.Engine.Containers;

/// <summary>
/// A container's mounts as Docker lays them out (oci.DefaultLinuxSpec, then WithMounts):
/// /proc, /dev, /dev/pts, /sys, /sys/fs/cgroup, /dev/mqueue and /dev/shm, minus those a
/// user mount replaces; then -v, --mount, --tmpfs and the generated /etc files, shallow
/// before deep; then the init. Validation uses Docker's messages.
/// </summary>
public static class ContainerMounts
{
    private static readonly string[] Locked = ["nosuid", "noexec", "nodev"];

    /// <summary>tmpfs data options Docker accepts (mount.MergeTmpfsOptions).</summary>
    private static readonly string[] TmpfsKeys = ["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"];

    private static readonly string[] Propagations = ["private", "rprivate", "shared", "rshared", "slave", "rslave"];

    public sealed record Options
    {
        public bool ReadonlyRootfs { get; init; }
        public bool Privileged { get; init; }
        public bool WritableCgroups { get; init; }
        /// <summary>Include gid=5 in /dev/pts: only when the container maps gid 5.</summary>
        public bool PtsGid5 { get; init; } = true;
        public string? HostsPath { get; init; }
        public string? HostnamePath { get; init; }
        public string? ResolvConfPath { get; init; }
        public Func<string, string>? ResolveVolume { get; init; }
        /// <summary>The host path of the init, or null without --init.</summary>
        public string? InitPath { get; init; }
    }

    public const string InitTarget = "/sbin/docker-init";

    /// <summary>
    /// The spec's mounts. <paramref name="prepared"/> (ContainerDefinition.MountPoints, made
    /// at create: volumes named and made, sources resolved) is used as it is; without it,
    /// -v, --mount and --tmpfs are read from the HostConfig here.
    /// </summary>
    public static List<Mount> Build(HostConfig hc, Options o, IReadOnlyList<Volumes.MountPoint>? prepared = null)
    {
        // Each user mount with its depth (the number of '/' in its target).
        var user = new List<(Mount Mount, int Depth)>(8);
        var created = new List<string>();
        if (prepared is not null)
        {
            AddPrepared(prepared, o, user, created);
        }
        else
        {
            AddBinds(hc.Binds, o, user, created);
            AddMountSpecs(hc.Mounts, o, user);
            AddTmpfs(hc.Tmpfs, user);
        }

        var mounts = new List<Mount>(7 + user.Count + 4);
        bool userDev = Has(user, "/dev");
        foreach (var m in Defaults(o))
        {
            if (Has(user, m.Destination) || (userDev && m.Destination.StartsWith("/dev/", StringComparison.Ordinal)))
            {
                continue;
            }
            if (o.ReadonlyRootfs && m.Destination is not ("/proc" or "/dev" or "/dev/pts" or "/dev/shm" or "/dev/mqueue"))
            {
                MakeReadOnly(m);
            }
            mounts.Add(m);
        }

        // The generated files are user mounts to Docker (writable unless --read-only), but
        // a user's own mount at the same place wins.
        AddNetworkFile(user, "/etc/resolv.conf", o.ResolvConfPath, o.ReadonlyRootfs);
        AddNetworkFile(user, "/etc/hostname", o.HostnamePath, o.ReadonlyRootfs);
        AddNetworkFile(user, "/etc/hosts", o.HostsPath, o.ReadonlyRootfs);

        // Shallow before deep, so /a is mounted before /a/b (stable: equal depths keep their order).
        var sorted = user.ToArray();
        var depths = new int[sorted.Length];
        for (int i = 0; i < sorted.Length; i++)
        {
            depths[i] = sorted[i].Depth * sorted.Length + i;
        }
        Array.Sort(depths, sorted);
        foreach (var (m, _) in sorted)
        {
            mounts.Add(m);
        }

        if (o.InitPath is { } init)
        {
            mounts.Add(new Mount { Destination = InitTarget, Type = "bind", Source = init, Options = ["bind", "ro"] });
        }
        foreach (var dir in created)
        {
            // -v makes a missing host directory, as Docker does; only once everything checked out.
            Directory.CreateDirectory(dir);
        }
        return mounts;
    }

    private static IEnumerable<Mount> Defaults(Options o)
    {
        yield return new Mount { Destination = "/proc", Type = "proc", Source = "proc", Options = [.. Locked] };
        yield return new Mount { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "strictatime", "mode=755", "size=65536k"] };
        yield return new Mount
        {
            Destination = "/dev/pts", Type = "devpts", Source = "devpts",
            Options = o.PtsGid5
                ? ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
                : ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
        };
        // --privileged: /sys writable where the kernel lets us, as Docker's clearReadOnly.
        yield return new Mount { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = o.Privileged ? [.. Locked] : [.. Locked, "ro"] };
        yield return new Mount
        {
            Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup",
            Options = o.Privileged || o.WritableCgroups ? [.. Locked] : ["ro", .. Locked],
        };
        yield return new Mount { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue", Options = [.. Locked] };
        yield return new Mount { Destination = "/dev/shm", Type = "tmpfs", Source = "shm", Options = [.. Locked, "mode=1777", "size=65536k"] };
    }

    private static void AddNetworkFile(List<(Mount Mount, int Depth)> user, string target, string? source, bool readOnly)
    {
        if (source is null || Has(user, target))
        {
            return;
        }
        // A root filesystem the container may not write (a host directory, rootless) gets none.
        var options = new List<string>(3) { "rbind", Runtime.Oci.MountOptions.SkipIfUnwritable };
        if (readOnly)
        {
            options.Add("ro");
        }
        options.Add("rprivate");
        user.Add((new Mount { Destination = target, Type = "bind", Source = source, Options = options }, Depth(target)));
    }

    private static void AddPrepared(IReadOnlyList<Volumes.MountPoint> prepared, Options o, List<(Mount, int)> user, List<string> created)
    {
        foreach (var m in prepared)
        {
            string target = CheckTarget(m.Destination, m.Type, null);
            string propagation = m.Propagation is { Length: > 0 } p ? p : "rprivate";
            switch (m.Type)
            {
                case "bind":
                    string source = Clean(m.Source);
                    if (!Path.Exists(source))
                    {
                        if (!m.CreateSource)
                        {
                            throw MountError("bind", $"bind source path does not exist: {source}");
                        }
                        created.Add(source);
                    }
                    Add(user, Bind(target, source, !m.RW, propagation));
                    break;
                case "volume":
                    string data = m.Source.Length > 0 ? m.Source : Volume(o, m.Name, target);
                    Add(user, Bind(target, data, !m.RW, "rprivate"));
                    break;
                case "tmpfs":
                    Add(user, Tmpfs(target, m.TmpfsOptions));
                    break;
                default:
                    throw MountError(m.Type, "mount type unknown");
            }
        }
    }

    /// <summary>-v SRC:DST[:MODE]: a host path (absolute) or a volume name; DST alone is an anonymous volume.</summary>
    private static void AddBinds(List<string>? binds, Options o, List<(Mount, int)> user, List<string> created)
    {
        foreach (var spec in binds ?? [])
        {
            var parts = spec.Split(':');
            string source = "", target, mode = "";
            switch (parts.Length)
            {
                case 1: target = parts[0]; break;
                case 2: source = parts[0]; target = parts[1]; break;
                case 3: source = parts[0]; target = parts[1]; mode = parts[2]; break;
                default: throw SkiffException.Invalid($"invalid volume specification: '{spec}'");
            }
            if (target.Length == 0 || (parts.Length > 1 && source.Length == 0))
            {
                throw SkiffException.Invalid($"invalid volume specification: '{spec}'");
            }
            bool bind = source.StartsWith('/');
            string type = bind ? "bind" : "volume";
            target = CheckTarget(target, type, spec);
            bool readOnly = false;
            string propagation = "rprivate";
            bool rw = false, label = false, prop = false, nocopy = false;
            foreach (var opt in mode.Length == 0 ? [] : mode.Split(','))
            {
                switch (opt)
                {
                    case "ro" or "rw" when !rw: rw = true; readOnly = opt == "ro"; break;
                    case "z" or "Z" when !label: label = true; break;
                    case "nocopy" when !nocopy && !bind: nocopy = true; break;
                    case "consistent" or "cached" or "delegated": break;
                    case var p when !prop && Array.IndexOf(Propagations, p) >= 0 && bind: prop = true; propagation = p; break;
                    default: throw SkiffException.Invalid($"invalid mode: {mode}");
                }
            }
            string hostPath;
            if (bind)
            {
                hostPath = Clean(source);
                if (!Path.Exists(hostPath))
                {
                    created.Add(hostPath);
                }
            }
            else
            {
                if (source.Length > 0)
                {
                    CheckVolumeName(source);
                }
                hostPath = Volume(o, source, target);
            }
            Add(user, Bind(target, hostPath, readOnly, propagation));
        }
    }

    /// <summary>--mount type=bind|volume|tmpfs, checked as Docker's validateMountConfig.</summary>
    private static void AddMountSpecs(List<MountSpec>? specs, Options o, List<(Mount, int)> user)
    {
        foreach (var m in specs ?? [])
        {
            string type = m.Type;
            if (m.Target.Length == 0)
            {
                throw MountError(type, "field Target must not be empty");
            }
            string target = CheckTarget(m.Target, type, null);
            switch (type)
            {
                case "bind":
                    if (m.Source.Length == 0)
                    {
                        throw MountError(type, "field Source must not be empty");
                    }
                    if (m.VolumeOptions is not null)
                    {
                        throw MountError(type, "field VolumeOptions must not be specified");
                    }
                    if (m.TmpfsOptions is not null)
                    {
                        throw MountError(type, "field TmpfsOptions must not be specified");
                    }
                    if (!m.Source.StartsWith('/'))
                    {
                        throw MountError(type, $"invalid mount path: '{m.Source}' mount path must be absolute");
                    }
                    string source = Clean(m.Source);
                    if (!Path.Exists(source))
                    {
                        throw MountError(type, $"bind source path does not exist: {source}");
                    }
                    string propagation = m.BindOptions?.Propagation is { Length: > 0 } p ? p : "rprivate";
                    if (Array.IndexOf(Propagations, propagation) < 0)
                    {
                        throw MountError(type, $"invalid propagation mode: {propagation}");
                    }
                    Add(user, Bind(target, source, m.ReadOnly, propagation));
                    break;
                case "volume":
                    if (m.BindOptions is not null)
                    {
                        throw MountError(type, "field BindOptions must not be specified");
                    }
                    if (m.TmpfsOptions is not null)
                    {
                        throw MountError(type, "field TmpfsOptions must not be specified");
                    }
                    if (m.Source.Length > 0)
                    {
                        CheckVolumeName(m.Source);
                    }
                    Add(user, Bind(target, Volume(o, m.Source, target), m.ReadOnly, "rprivate"));
                    break;
                case "tmpfs":
                    if (m.Source.Length > 0)
                    {
                        throw MountError(type, "field Source must not be specified");
                    }
                    if (m.BindOptions is not null)
                    {
                        throw MountError(type, "field BindOptions must not be specified");
                    }
                    if (m.VolumeOptions is not null)
                    {
                        throw MountError(type, "field VolumeOptions must not be specified");
                    }
                    Add(user, Tmpfs(target, TmpfsData(m.TmpfsOptions, m.ReadOnly)));
                    break;
                default:
                    throw MountError(type, "mount type unknown");
            }
        }
    }

    /// <summary>--tmpfs PATH[:OPTIONS]: Docker's noexec, nosuid, nodev unless the options say otherwise.</summary>
    private static void AddTmpfs(Dictionary<string, string>? tmpfs, List<(Mount, int)> user)
    {
        foreach (var (path, data) in tmpfs ?? [])
        {
            string target = CheckTarget(path, "tmpfs", null);
            Add(user, Tmpfs(target, data));
        }
    }

    private static Mount Bind(string target, string source, bool readOnly, string propagation) => new()
    {
        Destination = target, Type = "bind", Source = source,
        Options = readOnly ? ["rbind", "ro", propagation] : ["rbind", propagation],
    };

    private static Mount Tmpfs(string target, string data)
    {
        var options = new List<string>(8) { "noexec", "nosuid", "nodev", "rprivate" };
        if (data.Length > 0)
        {
            options.AddRange(data.Split(','));
        }
        return new Mount { Destination = target, Type = "tmpfs", Source = "tmpfs", Options = MergeTmpfs(options) };
    }

    /// <summary>Docker's ConvertTmpfsOptions: size with the largest exact unit, mode in octal.</summary>
    private static string TmpfsData(TmpfsOptions? t, bool readOnly)
    {
        var parts = new List<string>(3);
        if (t is { SizeBytes: > 0 } sized)
        {
            long size = sized.SizeBytes;
            string suffix = "";
            if (size % (1L << 30) == 0) { size >>= 30; suffix = "g"; }
            else if (size % (1L << 20) == 0) { size >>= 20; suffix = "m"; }
            else if (size % 1024 == 0) { size >>= 10; suffix = "k"; }
            parts.Add("size=" + size.ToString(CultureInfo.InvariantCulture) + suffix);
        }
        if (t is { Mode: not 0 } moded)
        {
            parts.Add("mode=" + System.Convert.ToString(moded.Mode, 8));
        }
        if (readOnly)
        {
            parts.Add("ro");
        }
        return string.Join(',', parts);
    }

    /// <summary>
    /// Docker's MergeTmpfsOptions: the last of a flag and its opposite wins (noexec then
    /// exec is exec), the last value of a key wins, anything else is refused.
    /// </summary>
    public static List<string> MergeTmpfs(List<string> options)
    {
        var kept = new List<string>(options.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = options.Count - 1; i >= 0; i--)
        {
            string option = options[i];
            if (option is "defaults" or "")
            {
                continue;
            }
            string? family = FlagFamily(option);
            if (family is null)
            {
                int eq = option.IndexOf('=');
                if (eq <= 0 || Array.IndexOf(TmpfsKeys, option[..eq]) < 0)
                {
                    throw SkiffException.Invalid($"invalid tmpfs option [\"{option}\"]");
                }
                family = option[..eq] + "=";
            }
            if (seen.Add(family))
            {
                kept.Add(option);
            }
        }
        kept.Reverse();
        return kept;
    }

    private static string? FlagFamily(string option) => option switch
    {
        "ro" or "rw" => "rw",
        "suid" or "nosuid" => "suid",
        "dev" or "nodev" => "dev",
        "exec" or "noexec" => "exec",
        "sync" or "async" => "sync",
        "dirsync" => "dirsync",
        "mand" or "nomand" => "mand",
        "atime" or "noatime" => "atime",
        "diratime" or "nodiratime" => "diratime",
        "relatime" or "norelatime" => "relatime",
        "strictatime" or "nostrictatime" => "strictatime",
        "private" or "rprivate" or "shared" or "rshared" or "slave" or "rslave" or "unbindable" or "runbindable" => "propagation",
        _ => null,
    };

    private static string Volume(Options o, string name, string target)
    {
        var resolve = o.ResolveVolume ?? throw SkiffException.Unavailable(
            $"volume {(name.Length == 0 ? "(anonymous)" : name)} for {target}: volumes are not available here");
        return resolve(name);
    }

    /// <summary>Docker's local volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+.</summary>
    private static void CheckVolumeName(string name)
    {
        bool ok = name.Length >= 2 && char.IsAsciiLetterOrDigit(name[0]);
        for (int i = 1; ok && i < name.Length; i++)
        {
            ok = char.IsAsciiLetterOrDigit(name[i]) || name[i] is '_' or '.' or '-';
        }
        if (!ok)
        {
            throw SkiffException.Invalid(
                $"\"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
        }
    }

    private static string CheckTarget(string target, string type, string? spec)
    {
        if (!target.StartsWith('/'))
        {
            string why = $"invalid mount config for type \"{type}\": invalid mount path: '{target}' mount path must be absolute";
            throw SkiffException.Invalid(spec is null ? why : $"invalid volume specification: '{spec}': {why}");
        }
        string clean = Clean(target);
        if (clean == "/")
        {
            throw SkiffException.Invalid($"invalid mount config for type \"{type}\": invalid specification: destination can't be '/'");
        }
        return clean;
    }

    private static SkiffException MountError(string type, string why) =>
        SkiffException.Invalid($"invalid mount config for type \"{type}\": {why}");

    /// <summary>Go's filepath.Clean for an absolute path: no "." or "..", no doubled or trailing '/'.</summary>
    public static string Clean(string path)
    {
        string full = Path.GetFullPath(path);
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }

    private static int Depth(string cleanPath)
    {
        int n = 0;
        foreach (char c in cleanPath)
        {
            n += c == '/' ? 1 : 0;
        }
        return n;
    }

    private static bool Has(List<(Mount Mount, int Depth)> user, string target)
    {
        foreach (var (m, _) in user)
        {
            if (m.Destination == target)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>One mount per target; the same mount given twice (-v and its parsed --mount form) is one.</summary>
    private static void Add(List<(Mount Mount, int Depth)> user, Mount m)
    {
        foreach (var (other, _) in user)
        {
            if (other.Destination == m.Destination)
            {
                if (other.Type == m.Type && other.Source == m.Source && other.Options!.SequenceEqual(m.Options!))
                {
                    return;
                }
                throw SkiffException.Invalid($"Duplicate mount point: {m.Destination}");
            }
        }
        user.Add((m, Depth(m.Destination)));
    }

    private static void MakeReadOnly(Mount m)
    {
        var options = m.Options ??= [];
        options.Remove("rw");
        if (!options.Contains("ro"))
        {
            options.Add("ro");
        }
    }
}
