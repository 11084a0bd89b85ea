using System.Globalization;
using Skiff.Oci;

namespace Skiff.Runtime.Oci;

/// <summary>Reads and validates a bundle's config.json: every error names the JSON path, and the line.</summary>
public static class SpecLoader
{
    /// <summary>The spec, where it came from, and its bytes (null when not read from a file), which create keeps.</summary>
    public sealed record Loaded(RuntimeSpec Spec, string Bundle, string RootFs, string? Warning, byte[]? Json = null);

    public static Loaded Load(string bundle)
    {
        bundle = Path.GetFullPath(bundle);
        string path = Path.Combine(bundle, "config.json");
        if (!File.Exists(path))
        {
            throw SkiffException.NotFound($"{path}: no such file (is --bundle the directory that holds config.json?)");
        }
        byte[] json = File.ReadAllBytes(path);
        return Validate(Parse(json, path), bundle) with { Json = json };
    }

    /// <summary>config.json's bytes as a spec, unvalidated: errors name <paramref name="path"/>, the JSON path and the line.</summary>
    public static RuntimeSpec Parse(byte[] json, string path)
    {
        try
        {
            return RuntimeSpecJson.ReadSpec(json);
        }
        catch (JsonFormatException e)
        {
            throw SkiffException.Invalid($"{path}: invalid config at {e.JsonPath} (line {e.Line}): {e.Detail}");
        }
    }

    public static Loaded Validate(RuntimeSpec spec, string bundle)
    {
        string? warning = null;
        var version = (spec.OciVersion ?? "").Split('.', '-', '+');
        if (version.Length < 2 || !int.TryParse(version[0], CultureInfo.InvariantCulture, out int major) ||
            !int.TryParse(version[1], CultureInfo.InvariantCulture, out int minor))
        {
            throw SkiffException.Invalid($"ociVersion: \"{spec.OciVersion}\" is not a version (want 1.0.x to 1.2.x)");
        }
        if (major != 1)
        {
            throw SkiffException.Invalid($"ociVersion: {spec.OciVersion} is not supported: skiff-runc implements runtime-spec 1.0.x to 1.2.x");
        }
        if (minor > 2)
        {
            warning = $"ociVersion {spec.OciVersion} is newer than 1.2: fields skiff-runc does not know are ignored";
        }
        if (spec.Root is null || string.IsNullOrEmpty(spec.Root.Path))
        {
            throw SkiffException.Invalid("root.path: required");
        }
        string rootfs = Path.IsPathRooted(spec.Root.Path) ? spec.Root.Path : Path.GetFullPath(Path.Combine(bundle, spec.Root.Path));
        if (!Directory.Exists(rootfs))
        {
            throw SkiffException.NotFound($"root.path: {rootfs}: no such directory");
        }
        var process = spec.Process ?? throw SkiffException.Invalid("process: required to create a container");
        if (process.Args is not { Count: > 0 })
        {
            throw SkiffException.Invalid("process.args: at least the command is required");
        }
        if (!process.Cwd.StartsWith('/'))
        {
            throw SkiffException.Invalid($"process.cwd: \"{process.Cwd}\" must be an absolute path");
        }
        for (int i = 0; i < (spec.Mounts?.Count ?? 0); i++)
        {
            if (!spec.Mounts![i].Destination.StartsWith('/'))
            {
                throw SkiffException.Invalid($"mounts[{i}].destination: \"{spec.Mounts[i].Destination}\" must be an absolute path");
            }
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var namespaces = spec.Linux?.Namespaces ?? [];
        for (int i = 0; i < namespaces.Count; i++)
        {
            var ns = namespaces[i];
            if (OciLowering.NamespaceFlag(ns.Type) is null)
            {
                throw SkiffException.Invalid($"linux.namespaces[{i}].type: unknown namespace \"{ns.Type}\"");
            }
            if (!seen.Add(ns.Type))
            {
                throw SkiffException.Invalid($"linux.namespaces[{i}].type: \"{ns.Type}\" is listed twice");
            }
            if (ns.Path is { Length: > 0 } p && !p.StartsWith('/'))
            {
                throw SkiffException.Invalid($"linux.namespaces[{i}].path: \"{p}\" must be an absolute path");
            }
        }
        if (!seen.Contains("mount"))
        {
            throw SkiffException.Invalid("linux.namespaces: a mount namespace is required (skiff-runc never changes the host's mounts)");
        }
        if (!string.IsNullOrEmpty(spec.Hostname) && !seen.Contains("uts"))
        {
            throw SkiffException.Invalid("hostname: setting it needs a uts namespace in linux.namespaces");
        }
        CheckTime(spec.Linux);
        CheckHooks(spec.Hooks);
        CheckLsm(spec);
        return new Loaded(spec, bundle, rootfs, warning);
    }

    private static void CheckTime(LinuxSpec? linux)
    {
        var time = linux?.Namespaces?.Find(n => n.Type == "time");
        if (time is null)
        {
            if (linux?.TimeOffsets is not null)
            {
                // runc's words
                throw SkiffException.Invalid("linux.timeOffsets: time namespace offsets specified, but time namespace isn't enabled in the config");
            }
            return;
        }
        if (!File.Exists("/proc/self/ns/time"))
        {
            throw SkiffException.Invalid("linux.namespaces: time namespaces aren't enabled in the kernel (Linux 5.6 or newer with CONFIG_TIME_NS)");
        }
        if (!string.IsNullOrEmpty(time.Path) && linux!.TimeOffsets is { Count: > 0 })
        {
            throw SkiffException.Invalid($"linux.timeOffsets: the time namespace is joined ({time.Path}): its offsets were fixed when its first process entered");
        }
    }

    private static void CheckHooks(Hooks? hooks)
    {
        if (hooks is null)
        {
            return;
        }
        foreach (var (name, list) in new[] { ("prestart", hooks.Prestart), ("createRuntime", hooks.CreateRuntime),
                     ("createContainer", hooks.CreateContainer), ("startContainer", hooks.StartContainer),
                     ("poststart", hooks.Poststart), ("poststop", hooks.Poststop) })
        {
            for (int i = 0; i < (list?.Count ?? 0); i++)
            {
                if (!list![i].Path.StartsWith('/'))
                {
                    throw SkiffException.Invalid($"hooks.{name}[{i}].path: \"{list[i].Path}\" must be an absolute path");
                }
            }
        }
    }

    /// <summary>A label for an LSM the host does not have is an error, not a silent no-op.</summary>
    private static void CheckLsm(RuntimeSpec spec)
    {
        bool apparmor = File.Exists("/sys/module/apparmor/parameters/enabled") &&
                        File.ReadAllText("/sys/module/apparmor/parameters/enabled").Trim() == "Y";
        bool selinux = Directory.Exists("/sys/fs/selinux") && File.Exists("/sys/fs/selinux/enforce");
        if (!string.IsNullOrEmpty(spec.Process?.ApparmorProfile) && !apparmor)
        {
            throw SkiffException.Invalid($"process.apparmorProfile: \"{spec.Process.ApparmorProfile}\" asked for, but AppArmor is not enabled on this host");
        }
        if (!string.IsNullOrEmpty(spec.Process?.SelinuxLabel) && !selinux)
        {
            throw SkiffException.Invalid($"process.selinuxLabel: \"{spec.Process.SelinuxLabel}\" asked for, but SELinux is not enabled on this host");
        }
        if (!string.IsNullOrEmpty(spec.Linux?.MountLabel) && !selinux)
        {
            throw SkiffException.Invalid($"linux.mountLabel: \"{spec.Linux.MountLabel}\" asked for, but SELinux is not enabled on this host");
        }
    }
}
