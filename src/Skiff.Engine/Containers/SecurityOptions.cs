namespace Skiff.Engine.Containers;

public enum SeccompMode
{
    /// <summary>Docker's default profile.</summary>
    Default,
    /// <summary>seccomp=unconfined: no filter.</summary>
    Unconfined,
    /// <summary>seccomp=FILE (skiff's CLI) or seccomp=JSON (the docker CLI sends the file's content).</summary>
    Custom,
}

/// <summary>
/// --security-opt as Docker's daemon reads it (parseSecurityOpt): no-new-privileges[=|:bool],
/// seccomp=unconfined|builtin|FILE|JSON, apparmor=, label=, writable-cgroups=bool, and the
/// CLI's systempaths=unconfined. Anything else is Docker's "invalid --security-opt 2".
/// </summary>
public sealed record SecurityOptions
{
    public bool NoNewPrivileges { get; init; }
    public SeccompMode Seccomp { get; init; }
    /// <summary>The file path or the inline JSON of seccomp=...</summary>
    public string? SeccompProfile { get; init; }
    public string? AppArmorProfile { get; init; }
    public bool WritableCgroups { get; init; }
    /// <summary>systempaths=unconfined: no masked and no read-only /proc and /sys paths.</summary>
    public bool UnmaskSystemPaths { get; init; }

    public static readonly SecurityOptions None = new();

    public static SecurityOptions Parse(IReadOnlyList<string>? options)
    {
        if (options is not { Count: > 0 })
        {
            return None;
        }
        bool noNewPrivileges = false, writableCgroups = false, unmask = false;
        var seccomp = SeccompMode.Default;
        string? profile = null, apparmor = null;
        foreach (var opt in options)
        {
            if (opt == "no-new-privileges")
            {
                noNewPrivileges = true;
                continue;
            }
            if (opt == "disable")
            {
                continue; // a label option: SELinux is not used by skiff
            }
            int sep = opt.IndexOf('=');
            if (sep < 0)
            {
                sep = opt.IndexOf(':'); // Docker still reads the old "key:value" form
            }
            if (sep < 0)
            {
                throw SkiffException.Invalid($"invalid --security-opt 1: \"{opt}\"");
            }
            string key = opt[..sep], value = opt[(sep + 1)..];
            switch (key)
            {
                case "label":
                    break;
                case "apparmor":
                    apparmor = value;
                    break;
                case "seccomp":
                    (seccomp, profile) = value switch
                    {
                        "unconfined" => (SeccompMode.Unconfined, (string?)null),
                        "builtin" or "" => (SeccompMode.Default, null),
                        _ => (SeccompMode.Custom, value),
                    };
                    break;
                case "no-new-privileges":
                    noNewPrivileges = ParseBool(value) ?? throw SkiffException.Invalid($"invalid --security-opt 2: \"{opt}\"");
                    break;
                case "writable-cgroups":
                    writableCgroups = ParseBool(value) ?? throw SkiffException.Invalid($"invalid --security-opt 2: \"{opt}\"");
                    break;
                case "systempaths" when value == "unconfined":
                    unmask = true;
                    break;
                default:
                    throw SkiffException.Invalid($"invalid --security-opt 2: \"{opt}\"");
            }
        }
        return new SecurityOptions
        {
            NoNewPrivileges = noNewPrivileges, Seccomp = seccomp, SeccompProfile = profile, AppArmorProfile = apparmor,
            WritableCgroups = writableCgroups, UnmaskSystemPaths = unmask,
        };
    }

    /// <summary>Go's strconv.ParseBool.</summary>
    private static bool? ParseBool(string s) => s switch
    {
        "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
        "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
        _ => null,
    };
}
