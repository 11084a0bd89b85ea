using System.Globalization;
using Skiff.Engine.Containers;

namespace Skiff.Engine.Volumes;

/// <summary>
/// The daemon's half of -v, --mount, --tmpfs and anonymous volumes (moby's linux mount
/// parser, with its messages): Parse reads HostConfig and Config.Volumes into one list of
/// mounts and touches nothing; Prepare then makes what they need (a missing -v host
/// directory, the volumes, the copy-up), so a refused container leaves nothing behind.
/// </summary>
public static class UserMounts
{
    private static readonly HashSet<string> Propagations = ["private", "rprivate", "shared", "rshared", "slave", "rslave"];
    private static readonly HashSet<string> Consistencies = ["consistent", "cached", "delegated", "default"];

    /// <summary>
    /// Binds first, then Mounts, then Tmpfs (a destination twice is Docker's "Duplicate
    /// mount point"), then the anonymous volumes (Config.Volumes and the image's VOLUMEs)
    /// whose destination nothing else took.
    /// </summary>
    public static List<MountPoint> Parse(HostConfig host, IEnumerable<string>? anonymous = null)
    {
        var mounts = new List<MountPoint>();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        void Add(MountPoint m)
        {
            if (!taken.Add(m.Destination))
            {
                throw SkiffException.Invalid($"Duplicate mount point: {m.Destination}");
            }
            mounts.Add(m);
        }
        foreach (var raw in host.Binds ?? [])
        {
            Add(ParseBind(raw));
        }
        foreach (var spec in host.Mounts ?? [])
        {
            Add(ParseMount(spec));
        }
        foreach (var (dest, options) in host.Tmpfs ?? [])
        {
            Add(ParseTmpfs(dest, options));
        }
        foreach (var spec in anonymous ?? [])
        {
            var m = ParseBind(spec);
            if (m.Type != "volume" || m.Name.Length > 0)
            {
                throw SkiffException.Invalid($"invalid volume specification: '{spec}': an anonymous volume is a container path only");
            }
            if (taken.Add(m.Destination))
            {
                mounts.Add(m);
            }
        }
        return mounts;
    }

    /// <summary>-v SRC:DST[:MODE] or DST, as moby's ParseMountRaw reads it (bind source existence unchecked: -v makes it).</summary>
    public static MountPoint ParseBind(string raw)
    {
        string[] arr = raw.Split(':', 4);
        if (arr[0].Length == 0)
        {
            throw InvalidSpec(raw);
        }
        string source = "", target, mode = "";
        switch (arr.Length)
        {
            case 1:
                target = arr[0];
                break;
            case 2:
                if (ValidMode(arr[1]))
                {
                    // A destination and a mode is not a volume: /foo:rw
                    throw InvalidSpec(raw);
                }
                source = arr[0];
                target = arr[1];
                break;
            case 3:
                source = arr[0];
                target = arr[1];
                mode = arr[2];
                break;
            default:
                throw InvalidSpec(raw);
        }
        if (!ValidMode(mode))
        {
            throw SkiffException.Invalid($"invalid mode: {mode}");
        }
        string type = source.StartsWith('/') ? "bind" : "volume";
        string[] options = mode.Length == 0 ? [] : mode.Split(',');
        bool readOnly = options.Contains("ro");
        try
        {
            CheckTarget(target);
            if (type == "volume" && readOnly && source.Length == 0)
            {
                throw new MountConfigError("must not set ReadOnly mode when using anonymous volumes");
            }
        }
        catch (MountConfigError e)
        {
            throw SkiffException.Invalid($"{InvalidSpec(raw).Message}: invalid mount config for type \"{type}\": {e.Message}");
        }
        if (type == "volume" && source.Length > 0)
        {
            VolumeNames.Validate(source);
        }
        return new MountPoint
        {
            Type = type,
            Name = type == "volume" ? source : "",
            Source = type == "bind" ? Clean(source) : "",
            Destination = Clean(target),
            Driver = type == "volume" ? VolumeStore.LocalDriver : "",
            Mode = mode,
            RW = !readOnly,
            Propagation = type == "bind" ? options.FirstOrDefault(Propagations.Contains) ?? "rprivate" : "",
            CopyData = type == "volume" && !options.Contains("nocopy"),
            CreateSource = type == "bind",
            Anonymous = type == "volume" && source.Length == 0,
        };
    }

    /// <summary>--mount (HostConfig.Mounts), as moby's ParseMountSpec checks it: a bind's source must exist.</summary>
    public static MountPoint ParseMount(MountSpec m)
    {
        try
        {
            if (m.Target.Length == 0)
            {
                throw new MountConfigError("field Target must not be empty");
            }
            CheckTarget(m.Target);
            switch (m.Type)
            {
                case "bind":
                    if (m.Source.Length == 0)
                    {
                        throw new MountConfigError("field Source must not be empty");
                    }
                    if (m.BindOptions?.Propagation is { Length: > 0 } p && !Propagations.Contains(p))
                    {
                        throw new MountConfigError($"invalid propagation mode: {p}");
                    }
                    if (m.VolumeOptions is not null)
                    {
                        throw new MountConfigError("field VolumeOptions must not be specified");
                    }
                    CheckAbsolute(m.Source);
                    if (!Path.Exists(m.Source))
                    {
                        throw new MountConfigError($"bind source path does not exist: {m.Source}");
                    }
                    break;
                case "volume":
                    if (m.BindOptions is not null)
                    {
                        throw new MountConfigError("field BindOptions must not be specified");
                    }
                    if (m.ReadOnly && m.Source.Length == 0)
                    {
                        throw new MountConfigError("must not set ReadOnly mode when using anonymous volumes");
                    }
                    break;
                case "tmpfs":
                    if (m.BindOptions is not null)
                    {
                        throw new MountConfigError("field BindOptions must not be specified");
                    }
                    if (m.Source.Length != 0)
                    {
                        throw new MountConfigError("field Source must not be specified");
                    }
                    break;
                default:
                    throw new MountConfigError("mount type unknown");
            }
        }
        catch (MountConfigError e)
        {
            throw SkiffException.Invalid($"invalid mount config for type \"{m.Type}\": {e.Message}");
        }
        if (m.Type == "volume" && m.Source.Length > 0)
        {
            VolumeNames.Validate(m.Source);
        }
        return new MountPoint
        {
            Type = m.Type,
            Name = m.Type == "volume" ? m.Source : "",
            Source = m.Type == "bind" ? Clean(m.Source) : "",
            Destination = Clean(m.Target),
            Driver = m.Type == "volume" ? VolumeStore.LocalDriver : "",
            RW = !m.ReadOnly,
            Propagation = m.Type == "bind" ? m.BindOptions?.Propagation is { Length: > 0 } prop ? prop : "rprivate" : "",
            TmpfsOptions = m.Type == "tmpfs" ? TmpfsData(m.TmpfsOptions) : "",
            CopyData = m.Type == "volume" && m.VolumeOptions?.NoCopy != true,
            Anonymous = m.Type == "volume" && m.Source.Length == 0,
        };
    }

    /// <summary>--tmpfs DST[:OPTIONS]: the options go to the mount as given ("ro" makes it read-only).</summary>
    public static MountPoint ParseTmpfs(string destination, string options)
    {
        try
        {
            CheckTarget(destination);
        }
        catch (MountConfigError e)
        {
            throw SkiffException.Invalid(e.Message);
        }
        return new MountPoint
        {
            Type = "tmpfs",
            Destination = Clean(destination),
            RW = !options.Split(',').Contains("ro"),
            TmpfsOptions = options,
        };
    }

    /// <summary>
    /// Makes what the mounts need, in order: a missing -v host directory (0755), each
    /// volume (named ones on first use, anonymous ones new), and the image's content copied
    /// into a volume that is empty (layers topmost first; none skips copy-up). Returns the
    /// mounts with every Source and Name filled in. On failure the volumes this call made
    /// are removed again.
    /// </summary>
    public static List<MountPoint> Prepare(IReadOnlyList<MountPoint> mounts, VolumeStore volumes, IReadOnlyList<string>? layers)
    {
        var prepared = new List<MountPoint>(mounts.Count);
        var created = new List<string>();
        try
        {
            foreach (var spec in mounts)
            {
                var m = Copy(spec);
                switch (m.Type)
                {
                    case "bind" when m.CreateSource && VolumeNative.Lstat(m.Source) is null:
                        Directory.CreateDirectory(m.Source, (UnixFileMode)0x1ED /* 0755 */);
                        break;
                    case "volume":
                        var (volume, isNew) = volumes.EnsureForMount(m.Name);
                        if (isNew)
                        {
                            created.Add(volume.Name);
                        }
                        m.Name = volume.Name;
                        m.Source = volume.Mountpoint;
                        m.Anonymous = volume.Anonymous;
                        if (m.CopyData && layers is { Count: > 0 })
                        {
                            VolumeCopyUp.FromLayers(layers, m.Destination, volume.Mountpoint);
                        }
                        break;
                }
                prepared.Add(m);
            }
            return prepared;
        }
        catch
        {
            foreach (var name in created)
            {
                try
                {
                    volumes.Remove(name, force: true);
                }
                catch (Exception e) when (e is SkiffException or IOException or UnauthorizedAccessException)
                {
                    // The error being thrown says more than this one would.
                }
            }
            throw;
        }
    }

    /// <summary>The names of the volumes among a container's mounts (for the in-use check).</summary>
    public static IEnumerable<string> VolumeNamesOf(IEnumerable<MountPoint> mounts) =>
        mounts.Where(m => m.Type == "volume" && m.Name.Length > 0).Select(m => m.Name);

    /// <summary>moby's ConvertTmpfsOptions: mode in octal, size with the largest unit that divides it.</summary>
    public static string TmpfsData(TmpfsOptions? o)
    {
        var parts = new List<string>();
        if (o is { Mode: not 0 })
        {
            parts.Add("mode=" + Convert.ToString(o.Mode, 8));
        }
        if (o is { SizeBytes: not 0 })
        {
            long size = o.SizeBytes;
            string suffix = "";
            foreach (var (s, div) in new[] { ("g", 1L << 30), ("m", 1L << 20), ("k", 1L << 10) })
            {
                if (size % div == 0)
                {
                    size /= div;
                    suffix = s;
                    break;
                }
            }
            parts.Add("size=" + size.ToString(CultureInfo.InvariantCulture) + suffix);
        }
        return string.Join(',', parts);
    }

    private static bool ValidMode(string mode)
    {
        if (mode.Length == 0)
        {
            return true;
        }
        int rw = 0, label = 0, propagation = 0, copy = 0, consistency = 0;
        foreach (var o in mode.Split(','))
        {
            switch (o)
            {
                case "rw" or "ro":
                    rw++;
                    break;
                case "z" or "Z":
                    label++;
                    break;
                case "nocopy":
                    copy++;
                    break;
                default:
                    if (Propagations.Contains(o))
                    {
                        propagation++;
                    }
                    else if (Consistencies.Contains(o))
                    {
                        consistency++;
                    }
                    else
                    {
                        return false;
                    }
                    break;
            }
        }
        return rw <= 1 && label <= 1 && propagation <= 1 && copy <= 1 && consistency <= 1;
    }

    private static void CheckTarget(string target)
    {
        if (Clean(target.Replace('\\', '/')) == "/")
        {
            throw new MountConfigError("invalid specification: destination can't be '/'");
        }
        CheckAbsolute(target);
    }

    private static void CheckAbsolute(string path)
    {
        if (!path.Replace('\\', '/').StartsWith('/'))
        {
            throw new MountConfigError($"invalid mount path: '{path}' mount path must be absolute");
        }
    }

    private static SkiffException InvalidSpec(string raw) => SkiffException.Invalid($"invalid volume specification: '{raw}'");

    /// <summary>Go's path.Clean for absolute paths: no empty, "." or ".." components, no trailing slash.</summary>
    public static string Clean(string path)
    {
        if (path.Length == 0)
        {
            return ".";
        }
        bool rooted = path.StartsWith('/');
        var parts = new List<string>();
        foreach (var c in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (c == ".")
            {
                continue;
            }
            if (c == "..")
            {
                if (parts.Count > 0 && parts[^1] != "..")
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                else if (!rooted)
                {
                    parts.Add("..");
                }
                continue;
            }
            parts.Add(c);
        }
        string joined = string.Join('/', parts);
        return rooted ? "/" + joined : joined.Length == 0 ? "." : joined;
    }

    private static MountPoint Copy(MountPoint m) => new()
    {
        Type = m.Type,
        Name = m.Name,
        Source = m.Source,
        Destination = m.Destination,
        Driver = m.Driver,
        Mode = m.Mode,
        RW = m.RW,
        Propagation = m.Propagation,
        TmpfsOptions = m.TmpfsOptions,
        CopyData = m.CopyData,
        CreateSource = m.CreateSource,
        Anonymous = m.Anonymous,
    };

    private sealed class MountConfigError(string message) : Exception(message);
}
