using System.Text.Json.Serialization;

namespace Skiff.Engine.Volumes;

/// <summary>A volume as Docker's API shows it (volume.Volume); ROOT/volumes/NAME/volume.json.</summary>
public sealed class VolumeRecord
{
    /// <summary>RFC 3339, seconds, UTC (Docker's local driver writes time.Now().Format(RFC3339)).</summary>
    public string CreatedAt { get; set; } = "";
    public string Driver { get; set; } = VolumeStore.LocalDriver;
    public Dictionary<string, string>? Labels { get; set; }
    /// <summary>ROOT/volumes/NAME/_data; recomputed on load so a moved root still tells the truth.</summary>
    public string Mountpoint { get; set; } = "";
    public string Name { get; set; } = "";
    public Dictionary<string, string>? Options { get; set; }
    public string Scope { get; set; } = "local";

    [JsonIgnore]
    public bool Anonymous => Labels?.ContainsKey(VolumeNames.AnonymousLabel) == true;
}

/// <summary>
/// One mount of a container, resolved from -v (Binds), --mount (Mounts), --tmpfs (Tmpfs) and
/// anonymous volumes (Config.Volumes): Docker's MountPoint as `inspect` shows it under
/// "Mounts", plus what skiff needs to perform it.
/// </summary>
public sealed class MountPoint
{
    /// <summary>bind, volume or tmpfs.</summary>
    public string Type { get; set; } = "";
    /// <summary>The volume's name; "" for binds and tmpfs (and for an anonymous volume until it is prepared).</summary>
    public string Name { get; set; } = "";
    /// <summary>The host path: a bind's source, a volume's _data; "" for tmpfs (and volumes until prepared).</summary>
    public string Source { get; set; } = "";
    public string Destination { get; set; } = "";
    /// <summary>"local" for volumes, "" otherwise.</summary>
    public string Driver { get; set; } = "";
    /// <summary>The mode part of a -v spec as given ("ro,z"); "" for --mount.</summary>
    public string Mode { get; set; } = "";
    public bool RW { get; set; } = true;
    /// <summary>rprivate (default), private, rshared, shared, rslave, slave; binds only.</summary>
    public string Propagation { get; set; } = "";
    /// <summary>tmpfs mount data: "size=64m,mode=1777" (Docker's --tmpfs options, or --mount tmpfs-size/tmpfs-mode).</summary>
    public string TmpfsOptions { get; set; } = "";
    /// <summary>Copy the image's content at Destination into the volume when the volume is empty (volumes, unless nocopy).</summary>
    public bool CopyData { get; set; }
    /// <summary>-v HOST:… makes a missing host directory, --mount refuses one.</summary>
    public bool CreateSource { get; set; }
    /// <summary>An anonymous volume (-v /dst, VOLUME in the image): removed with the container by rm -v and --rm.</summary>
    public bool Anonymous { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(VolumeRecord))]
[JsonSerializable(typeof(List<MountPoint>))]
public sealed partial class VolumeJson : JsonSerializerContext;

/// <summary>Docker's rule for local volume names, and the names anonymous volumes get.</summary>
public static class VolumeNames
{
    /// <summary>Docker 23+: set on anonymous volumes; `volume prune` without -a removes only these.</summary>
    public const string AnonymousLabel = "com.docker.volume.anonymous";

    /// <summary>[a-zA-Z0-9][a-zA-Z0-9_.-]+ (so at least two characters).</summary>
    public static bool IsValid(string name)
    {
        if (name.Length < 2 || !char.IsAsciiLetterOrDigit(name[0]))
        {
            return false;
        }
        foreach (char c in name.AsSpan(1))
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Docker's error, word for word: a relative host path given to -v lands here too.</summary>
    public static void Validate(string name)
    {
        if (!IsValid(name))
        {
            throw SkiffException.Invalid(
                $"create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
        }
    }

    /// <summary>64 hex characters, as Docker names anonymous volumes.</summary>
    public static string New()
    {
        Span<byte> b = stackalloc byte[32];
        Interop.Libc.GetRandom(b);
        return Convert.ToHexStringLower(b);
    }
}
