using System.Text.Json.Serialization;

namespace Skiff.Cli.Runc;

public sealed class RuncFeatures
{
    public string OciVersionMin { get; set; } = "1.0.0";
    public string OciVersionMax { get; set; } = "1.2.0";
    public List<string> Hooks { get; set; } = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];
    public List<string> MountOptions { get; set; } =
    [
        "async", "atime", "bind", "defaults", "dev", "diratime", "exec", "noatime", "nodev", "nodiratime", "noexec",
        "nosuid", "private", "rbind", "relatime", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw", "shared",
        "slave", "strictatime", "suid", "unbindable",
    ];
    public FeaturesLinux Linux { get; set; } = new();
    public Dictionary<string, string> Annotations { get; set; } = new() { ["org.skiff.runtime"] = "skiff-runc" };
}

public sealed class FeaturesLinux
{
    public List<string> Namespaces { get; set; } = ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"];
    public List<string> Capabilities { get; set; } = [.. Skiff.Linux.CapabilitySet.Names];
    public FeaturesCgroup Cgroup { get; set; } = new();
    public FeaturesSeccomp Seccomp { get; set; } = new();
    public FeaturesEnabled Apparmor { get; set; } = new();
    public FeaturesEnabled Selinux { get; set; } = new();
}

public sealed class FeaturesCgroup
{
    public bool V1 { get; set; } = true;
    public bool V2 { get; set; } = true;
    public bool Systemd { get; set; }
    public bool SystemdUser { get; set; }
}

public sealed class FeaturesSeccomp
{
    public bool Enabled { get; set; } = true;
    public List<string> Actions { get; set; } =
    [
        "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
    ];
    public List<string> Operators { get; set; } =
        ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"];
    public List<string> Archs { get; set; } = ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"];
    public List<string> KnownFlags { get; set; } =
    [
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ];
}

public sealed class FeaturesEnabled
{
    public bool Enabled { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(RuncFeatures))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(List<int>))]
internal sealed partial class RuncJson : JsonSerializerContext;
