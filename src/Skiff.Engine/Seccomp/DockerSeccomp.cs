using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Skiff.Linux;
using Skiff.Oci;

namespace Skiff.Engine.Seccomp;

/// <summary>
/// Docker's default seccomp profile and its conversion into the runtime-spec form a
/// container gets, as moby's setupSeccomp does it: the arch map picks this host's arches,
/// and each rule stays only when its capability, arch and kernel conditions hold.
/// </summary>
public static class DockerSeccomp
{
    private static DockerSeccompProfile? _default;

    /// <summary>
    /// moby/profiles seccomp/default.json (commit 190fa92), kept byte for byte as
    /// Seccomp/default.json and compiled in by generate.py as object initializers: parsing
    /// the JSON cold costs a `run` about half a millisecond, building the objects does not.
    /// Built once per process; Convert copies what a container gets.
    /// </summary>
    public static DockerSeccompProfile Default => _default ??= CreateDefault();

    /// <summary>A fresh copy of Docker's default profile.</summary>
    public static DockerSeccompProfile CreateDefault() => DefaultProfileData.Create();

    /// <summary>Reads a Docker-format (or plain OCI) profile; errors name where it came from.</summary>
    public static DockerSeccompProfile Parse(ReadOnlySpan<byte> json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize(json, DockerSeccompJson.Default.DockerSeccompProfile)
                   ?? throw SkiffException.Invalid($"Decoding seccomp profile failed: {source}: the profile is null");
        }
        catch (JsonException e)
        {
            string line = e.LineNumber is { } l ? $" (line {l + 1})" : "";
            string detail = e.Message.Split(" Path:", 2)[0];
            throw SkiffException.Invalid($"Decoding seccomp profile failed: {source}{line}: {detail}");
        }
    }

    /// <summary>
    /// The profile for a container whose bounding set is <paramref name="boundingCaps"/>
    /// (a CAP_* bit mask) on a host of <paramref name="nativeArch"/> (libseccomp's name,
    /// <see cref="NativeArch"/>) running <paramref name="kernel"/>; null when the profile
    /// disables seccomp (no default action and no rules, as Docker reads it).
    /// </summary>
    public static LinuxSeccomp? Convert(DockerSeccompProfile profile, ulong boundingCaps, string nativeArch, Version kernel)
    {
        if (profile.DefaultAction.Length == 0 && (profile.Syscalls?.Count ?? 0) == 0)
        {
            return null;
        }
        if (profile.Architectures is { Count: > 0 } && profile.ArchMap is { Count: > 0 })
        {
            throw SkiffException.Invalid("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
        }
        var result = new LinuxSeccomp
        {
            DefaultAction = profile.DefaultAction,
            DefaultErrnoRet = profile.DefaultErrnoRet,
            Architectures = profile.Architectures is { } a ? [.. a] : null,
            Flags = profile.Flags is { } f ? [.. f] : null,
            ListenerPath = profile.ListenerPath,
            Syscalls = new List<SeccompSyscall>(profile.Syscalls?.Count ?? 0),
        };
        if (ScmpArch(nativeArch) is { } scmp && profile.ArchMap is { } map)
        {
            foreach (var entry in map)
            {
                if (entry.Architecture == scmp)
                {
                    result.Architectures ??= [];
                    result.Architectures.Add(entry.Architecture);
                    result.Architectures.AddRange(entry.SubArchitectures ?? []);
                    break;
                }
            }
        }
        foreach (var rule in profile.Syscalls ?? [])
        {
            var names = rule.Names;
            if (rule.Name is { Length: > 0 } single)
            {
                if (names is { Count: > 0 })
                {
                    throw SkiffException.Invalid("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
                }
                names = [single];
            }
            if (Applies(rule, boundingCaps, nativeArch, kernel))
            {
                // Copies: the default profile is shared by the whole process, a spec is the container's own.
                result.Syscalls.Add(new SeccompSyscall
                {
                    Names = names is null ? [] : [.. names], Action = rule.Action, ErrnoRet = rule.ErrnoRet, Args = CopyArgs(rule.Args),
                });
            }
        }
        return result;
    }

    private static List<SeccompArg>? CopyArgs(List<SeccompArg>? args)
    {
        if (args is null)
        {
            return null;
        }
        var copy = new List<SeccompArg>(args.Count);
        foreach (var a in args)
        {
            copy.Add(new SeccompArg { Index = a.Index, Value = a.Value, ValueTwo = a.ValueTwo, Op = a.Op });
        }
        return copy;
    }

    private static bool Applies(DockerSyscallRule rule, ulong caps, string arch, Version kernel)
    {
        if (rule.Excludes is { } ex)
        {
            if (ex.Arches is { Count: > 0 } && ex.Arches.Contains(arch))
            {
                return false;
            }
            foreach (var c in ex.Caps ?? [])
            {
                if (Has(caps, c))
                {
                    return false;
                }
            }
            if (ex.MinKernel is { Length: > 0 } min && AtLeast(kernel, min))
            {
                return false;
            }
        }
        if (rule.Includes is { } inc)
        {
            if (inc.Arches is { Count: > 0 } && !inc.Arches.Contains(arch))
            {
                return false;
            }
            foreach (var c in inc.Caps ?? [])
            {
                if (!Has(caps, c))
                {
                    return false;
                }
            }
            if (inc.MinKernel is { Length: > 0 } min && !AtLeast(kernel, min))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Docker compares names exactly ("CAP_SYS_ADMIN"); an unknown name is never held.</summary>
    private static bool Has(ulong caps, string name)
    {
        int bit = Array.IndexOf(CapabilitySet.Names, name);
        return bit >= 0 && (caps & (1UL << bit)) != 0;
    }

    /// <summary>"4.8": kernel 4, major revision 8; minor revisions and suffixes do not count.</summary>
    private static bool AtLeast(Version kernel, string min)
    {
        var parts = min.Split('.');
        if (parts.Length != 2 || !byte.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out byte k) ||
            !byte.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out byte m) || (k == 0 && m == 0))
        {
            throw SkiffException.Invalid($"invalid kernel version: \"{min}\", expected \"<kernel>.<major>\"");
        }
        return kernel.Major > k || (kernel.Major == k && kernel.Minor >= m);
    }

    /// <summary>This host's arch as libseccomp names it (Docker's goToNative).</summary>
    public static string NativeArch { get; } = RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.X86 => "x86",
        Architecture.Arm64 => "arm64",
        Architecture.Arm or Architecture.Armv6 => "arm",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        Architecture.RiscV64 => "riscv64",
        Architecture.LoongArch64 => "loong64",
        var other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>libseccomp's native name → the runtime-spec SCMP_ARCH_* (Docker's nativeToSeccomp).</summary>
    public static string? ScmpArch(string nativeArch) => nativeArch switch
    {
        "amd64" => "SCMP_ARCH_X86_64",
        "x86" => "SCMP_ARCH_X86",
        "arm64" => "SCMP_ARCH_AARCH64",
        "arm" => "SCMP_ARCH_ARM",
        "loong64" => "SCMP_ARCH_LOONGARCH64",
        "mips64" => "SCMP_ARCH_MIPS64",
        "mips64n32" => "SCMP_ARCH_MIPS64N32",
        "mipsel64" => "SCMP_ARCH_MIPSEL64",
        "mips3l64n32" => "SCMP_ARCH_MIPSEL64N32",
        "mipsle" => "SCMP_ARCH_MIPSEL",
        "ppc" => "SCMP_ARCH_PPC",
        "ppc64" => "SCMP_ARCH_PPC64",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "s390" => "SCMP_ARCH_S390",
        "s390x" => "SCMP_ARCH_S390X",
        _ => null,
    };

    /// <summary>The running kernel's version ("6.18.44-..." → 6.18.44).</summary>
    public static Version Kernel { get; } = Environment.OSVersion.Version;
}
