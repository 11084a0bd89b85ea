using System.Globalization;
using System.Text;
using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>
/// The docker CLI's side of -v, --mount and --tmpfs: -v with a source goes to
/// HostConfig.Binds (a ./relative host path made absolute), -v DST to Config.Volumes,
/// --mount to HostConfig.Mounts, --tmpfs to HostConfig.Tmpfs. The daemon's checks run
/// afterwards (UserMounts.Parse).
/// </summary>
public static class ContainerFlagsMounts
{
    /// <summary>-v values → (Binds, anonymous Volumes), in the order given, duplicates once.</summary>
    public static (List<string>? Binds, Dictionary<string, EmptyObject>? Volumes) Volumes(IReadOnlyList<string> values, string workingDirectory)
    {
        List<string>? binds = null;
        Dictionary<string, EmptyObject>? volumes = null;
        foreach (var spec in values.Distinct())
        {
            var (source, target) = ParseSpec(spec);
            if (source.Length == 0)
            {
                volumes ??= [];
                volumes[target] = new EmptyObject();
                continue;
            }
            string bind = spec;
            // A bind (source starting with '.', '/' or '~'): ./x and . become absolute, as the docker CLI does.
            int colon = spec.IndexOf(':');
            if (IsFilePath(source) && colon >= 0)
            {
                string host = spec[..colon];
                if (!host.StartsWith('/') && host.StartsWith('.'))
                {
                    host = Path.GetFullPath(host, workingDirectory);
                }
                bind = host + spec[colon..];
            }
            binds ??= [];
            binds.Add(bind);
        }
        return (binds, volumes);
    }

    /// <summary>The CLI's volumespec.Parse: source (maybe empty) and target, or its error.</summary>
    private static (string Source, string Target) ParseSpec(string spec)
    {
        switch (spec.Length)
        {
            case 0:
                throw new UsageException("invalid empty volume spec");
            case 1 or 2:
                return ("", spec);
        }
        string source = "", target = "";
        bool haveSource = false, haveTarget = false;
        var buffer = new StringBuilder();
        for (int i = 0; i <= spec.Length; i++)
        {
            bool end = i == spec.Length;
            char c = end ? '\0' : spec[i];
            if (!end && c != ':')
            {
                buffer.Append(c);
                continue;
            }
            string field = buffer.ToString();
            buffer.Clear();
            if (field.Length == 0)
            {
                throw new UsageException($"invalid spec: {spec}: empty section between colons");
            }
            if (!haveSource && end)
            {
                target = field;
                haveTarget = true;
            }
            else if (!haveSource)
            {
                source = field;
                haveSource = true;
            }
            else if (!haveTarget)
            {
                target = field;
                haveTarget = true;
            }
            else if (!end)
            {
                throw new UsageException($"invalid spec: {spec}: too many colons");
            }
        }
        return (source, target);
    }

    private static bool IsFilePath(string source) => source[0] is '.' or '/' or '~';

    /// <summary>--tmpfs DST[:OPTIONS] → path → options.</summary>
    public static Dictionary<string, string>? Tmpfs(IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return null;
        }
        var tmpfs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in values)
        {
            var (k, v, _) = ContainerFlagValues.Cut(t, ':');
            tmpfs[k] = v;
        }
        return tmpfs;
    }

    /// <summary>
    /// --mount, the docker CLI's MountOpt.Set: CSV fields, type defaulting to volume,
    /// source|src, target|dst|destination, readonly|ro[=bool], bind-propagation,
    /// volume-nocopy[=bool], volume-label, tmpfs-size, tmpfs-mode. Errors are pflag's.
    /// </summary>
    public static MountSpec Mount(string value, string workingDirectory)
    {
        List<string> fields;
        try
        {
            fields = ReadCsvRecord(value);
        }
        catch (FormatException e)
        {
            throw ContainerFlagValues.FlagError("mount", value, e.Message);
        }
        var m = new MountSpec { Type = "volume" };
        UsageException Fail(string why) => ContainerFlagValues.FlagError("mount", value, why);
        foreach (var field in fields)
        {
            var (rawKey, val, hasValue) = ContainerFlagValues.Cut(field, '=');
            string key = rawKey.ToLowerInvariant();
            if (!hasValue)
            {
                switch (key)
                {
                    case "readonly" or "ro":
                        m.ReadOnly = true;
                        continue;
                    case "volume-nocopy":
                        (m.VolumeOptions ??= new VolumeOptions()).NoCopy = true;
                        continue;
                    default:
                        throw Fail($"invalid field '{field}' must be a key=value pair");
                }
            }
            switch (key)
            {
                case "type":
                    m.Type = val.ToLowerInvariant();
                    break;
                case "source" or "src":
                    m.Source = val == "." || val.StartsWith("./", StringComparison.Ordinal) ? Path.GetFullPath(val, workingDirectory) : val;
                    break;
                case "target" or "dst" or "destination":
                    m.Target = val;
                    break;
                case "readonly" or "ro":
                    m.ReadOnly = GoBool(val) ?? throw Fail($"invalid value for {key}: {val}");
                    break;
                case "consistency":
                    break;
                case "bind-propagation":
                    (m.BindOptions ??= new BindOptions()).Propagation = val.ToLowerInvariant();
                    break;
                case "bind-recursive":
                    if (val != "enabled")
                    {
                        throw Fail($"bind-recursive={val} is not supported by skiff (binds are recursive)");
                    }
                    m.BindOptions ??= new BindOptions();
                    break;
                case "volume-nocopy":
                    (m.VolumeOptions ??= new VolumeOptions()).NoCopy = GoBool(val) ?? throw Fail($"invalid value for volume-nocopy: {val}");
                    break;
                case "volume-label":
                    var (lk, lv, _) = ContainerFlagValues.Cut(val, '=');
                    if (lk.Length > 0)
                    {
                        ((m.VolumeOptions ??= new VolumeOptions()).Labels ??= [])[lk] = lv;
                    }
                    break;
                case "volume-driver":
                    m.VolumeOptions ??= new VolumeOptions();
                    if (val != "local")
                    {
                        throw SkiffException.NotFound($"error looking up volume plugin {val}: plugin \"{val}\" not found");
                    }
                    break;
                case "volume-opt" or "volume-subpath" or "image-subpath" or "bind-nonrecursive":
                    throw Fail($"{key} is not supported by skiff");
                case "tmpfs-size":
                    try
                    {
                        (m.TmpfsOptions ??= new TmpfsOptions()).SizeBytes = ContainerFlagValues.RamInBytes(val);
                    }
                    catch (FormatException)
                    {
                        throw Fail($"invalid value for {key}: {val}");
                    }
                    break;
                case "tmpfs-mode":
                    try
                    {
                        uint mode = Convert.ToUInt32(val, 8);
                        (m.TmpfsOptions ??= new TmpfsOptions()).Mode = (int)mode;
                    }
                    catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
                    {
                        throw Fail($"invalid value for {key}: {val}");
                    }
                    break;
                default:
                    throw Fail($"unexpected key '{key}' in '{field}'");
            }
        }
        if (m.Type.Length == 0)
        {
            throw Fail("type is required");
        }
        if (m.Target.Length == 0)
        {
            throw Fail("target is required");
        }
        if (m.VolumeOptions is not null && m.Type != "volume")
        {
            throw Fail($"cannot mix 'volume-*' options with mount type '{m.Type}'");
        }
        if (m.BindOptions is not null && m.Type != "bind")
        {
            throw Fail($"cannot mix 'bind-*' options with mount type '{m.Type}'");
        }
        if (m.TmpfsOptions is not null && m.Type != "tmpfs")
        {
            throw Fail($"cannot mix 'tmpfs-*' options with mount type '{m.Type}'");
        }
        return m;
    }

    /// <summary>Go's strconv.ParseBool.</summary>
    private static bool? GoBool(string v) => v switch
    {
        "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
        "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
        _ => null,
    };

    /// <summary>One record of Go's encoding/csv: commas, "quoted fields" with "" for a quote.</summary>
    private static List<string> ReadCsvRecord(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        int i = 0;
        while (true)
        {
            field.Clear();
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new FormatException($"parse error on line 1, column {line.Length + 1}: extraneous or missing \" in quoted-field");
                    }
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    field.Append(line[i++]);
                }
                if (i < line.Length && line[i] != ',')
                {
                    throw new FormatException($"parse error on line 1, column {(i + 1).ToString(CultureInfo.InvariantCulture)}: extraneous or missing \" in quoted-field");
                }
            }
            else
            {
                while (i < line.Length && line[i] != ',')
                {
                    if (line[i] == '"')
                    {
                        throw new FormatException($"parse error on line 1, column {(i + 1).ToString(CultureInfo.InvariantCulture)}: bare \" in non-quoted-field");
                    }
                    field.Append(line[i++]);
                }
            }
            fields.Add(field.ToString());
            if (i >= line.Length)
            {
                return fields;
            }
            i++;
        }
    }
}
