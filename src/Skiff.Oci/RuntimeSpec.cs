using System.Text.Json.Serialization;

namespace Skiff.Oci;

// The OCI runtime-spec config.json (1.0.x to 1.2.x), as models for System.Text.Json's
// source generator. Field names and optionality follow the spec; unknown fields are
// ignored, as runc does.

public sealed class RuntimeSpec
{
    public string OciVersion { get; set; } = "";
    public Process? Process { get; set; }
    public Root? Root { get; set; }
    public string? Hostname { get; set; }
    public string? Domainname { get; set; }
    public List<Mount>? Mounts { get; set; }
    public Hooks? Hooks { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }
    public LinuxSpec? Linux { get; set; }
}

public sealed class Process
{
    public bool Terminal { get; set; }
    public ConsoleSize? ConsoleSize { get; set; }
    public User User { get; set; } = new();
    public List<string>? Args { get; set; }
    public string? CommandLine { get; set; }
    public List<string>? Env { get; set; }
    public string Cwd { get; set; } = "";
    public Capabilities? Capabilities { get; set; }
    public List<Rlimit>? Rlimits { get; set; }
    public bool NoNewPrivileges { get; set; }
    public string? ApparmorProfile { get; set; }
    public int? OomScoreAdj { get; set; }
    public string? SelinuxLabel { get; set; }
}

public sealed class ConsoleSize
{
    public uint Height { get; set; }
    public uint Width { get; set; }
}

public sealed class User
{
    public uint Uid { get; set; }
    public uint Gid { get; set; }
    public uint? Umask { get; set; }
    public List<uint>? AdditionalGids { get; set; }
    public string? Username { get; set; }
}

public sealed class Capabilities
{
    public List<string>? Bounding { get; set; }
    public List<string>? Effective { get; set; }
    public List<string>? Inheritable { get; set; }
    public List<string>? Permitted { get; set; }
    public List<string>? Ambient { get; set; }
}

public sealed class Rlimit
{
    public string Type { get; set; } = "";
    public ulong Hard { get; set; }
    public ulong Soft { get; set; }
}

public sealed class Root
{
    public string Path { get; set; } = "";
    public bool Readonly { get; set; }
}

public sealed class Mount
{
    public string Destination { get; set; } = "";
    public string? Type { get; set; }
    public string? Source { get; set; }
    public List<string>? Options { get; set; }
}

public sealed class Hooks
{
    public List<Hook>? Prestart { get; set; }
    public List<Hook>? CreateRuntime { get; set; }
    public List<Hook>? CreateContainer { get; set; }
    public List<Hook>? StartContainer { get; set; }
    public List<Hook>? Poststart { get; set; }
    public List<Hook>? Poststop { get; set; }
}

public sealed class Hook
{
    public string Path { get; set; } = "";
    public List<string>? Args { get; set; }
    public List<string>? Env { get; set; }
    public int? Timeout { get; set; }
}

public sealed class LinuxSpec
{
    public List<IdMap>? UidMappings { get; set; }
    public List<IdMap>? GidMappings { get; set; }
    public Dictionary<string, string>? Sysctl { get; set; }
    public Resources? Resources { get; set; }
    public string? CgroupsPath { get; set; }
    public List<Namespace>? Namespaces { get; set; }
    public List<Device>? Devices { get; set; }
    public LinuxSeccomp? Seccomp { get; set; }
    public string? RootfsPropagation { get; set; }
    public List<string>? MaskedPaths { get; set; }
    public List<string>? ReadonlyPaths { get; set; }
    public string? MountLabel { get; set; }
    public Personality? Personality { get; set; }
    /// <summary>Clock offsets of a new time namespace, by clock name (monotonic, boottime).</summary>
    public Dictionary<string, TimeOffset>? TimeOffsets { get; set; }
}

public sealed class TimeOffset
{
    public long Secs { get; set; }
    public uint Nanosecs { get; set; }
}

public sealed class IdMap
{
    [JsonPropertyName("containerID")] public uint ContainerId { get; set; }
    [JsonPropertyName("hostID")] public uint HostId { get; set; }
    public uint Size { get; set; }
}

public sealed class Namespace
{
    public string Type { get; set; } = "";
    public string? Path { get; set; }
}

public sealed class Device
{
    public string Type { get; set; } = "";
    public string Path { get; set; } = "";
    public long Major { get; set; }
    public long Minor { get; set; }
    public uint? FileMode { get; set; }
    public uint? Uid { get; set; }
    public uint? Gid { get; set; }
}

public sealed class Personality
{
    public string Domain { get; set; } = "";
    public List<string>? Flags { get; set; }
}

public sealed class Resources
{
    public List<DeviceCgroup>? Devices { get; set; }
    public Memory? Memory { get; set; }
    public Cpu? Cpu { get; set; }
    public Pids? Pids { get; set; }
    public BlockIo? BlockIO { get; set; }
    public List<HugepageLimit>? HugepageLimits { get; set; }
    public Dictionary<string, string>? Unified { get; set; }
}

public sealed class DeviceCgroup
{
    public bool Allow { get; set; }
    public string? Type { get; set; }
    public long? Major { get; set; }
    public long? Minor { get; set; }
    public string? Access { get; set; }
}

public sealed class Memory
{
    public long? Limit { get; set; }
    public long? Reservation { get; set; }
    public long? Swap { get; set; }
    public long? Kernel { get; set; }
    public long? KernelTCP { get; set; }
    public ulong? Swappiness { get; set; }
    public bool? DisableOOMKiller { get; set; }
}

public sealed class Cpu
{
    public ulong? Shares { get; set; }
    public long? Quota { get; set; }
    public ulong? Period { get; set; }
    public long? RealtimeRuntime { get; set; }
    public ulong? RealtimePeriod { get; set; }
    public string? Cpus { get; set; }
    public string? Mems { get; set; }
    public long? Idle { get; set; }
}

public sealed class Pids
{
    public long Limit { get; set; }
}

public sealed class BlockIo
{
    public ushort? Weight { get; set; }
    public ushort? LeafWeight { get; set; }
    public List<WeightDevice>? WeightDevice { get; set; }
    public List<ThrottleDevice>? ThrottleReadBpsDevice { get; set; }
    public List<ThrottleDevice>? ThrottleWriteBpsDevice { get; set; }
    public List<ThrottleDevice>? ThrottleReadIOPSDevice { get; set; }
    public List<ThrottleDevice>? ThrottleWriteIOPSDevice { get; set; }
}

public sealed class WeightDevice
{
    public long Major { get; set; }
    public long Minor { get; set; }
    public ushort? Weight { get; set; }
    public ushort? LeafWeight { get; set; }
}

public sealed class ThrottleDevice
{
    public long Major { get; set; }
    public long Minor { get; set; }
    public ulong Rate { get; set; }
}

public sealed class HugepageLimit
{
    public string PageSize { get; set; } = "";
    public ulong Limit { get; set; }
}

public sealed class LinuxSeccomp
{
    public string DefaultAction { get; set; } = "";
    public uint? DefaultErrnoRet { get; set; }
    public List<string>? Architectures { get; set; }
    public List<string>? Flags { get; set; }
    public string? ListenerPath { get; set; }
    public string? ListenerMetadata { get; set; }
    public List<SeccompSyscall>? Syscalls { get; set; }
}

public sealed class SeccompSyscall
{
    public List<string> Names { get; set; } = [];
    public string Action { get; set; } = "";
    public uint? ErrnoRet { get; set; }
    public List<SeccompArg>? Args { get; set; }
}

public sealed class SeccompArg
{
    public uint Index { get; set; }
    public ulong Value { get; set; }
    public ulong ValueTwo { get; set; }
    public string Op { get; set; } = "";
}

/// <summary>The state a runtime reports (runtime-spec "state"), plus runc's extra fields.</summary>
public sealed class ContainerState
{
    public string OciVersion { get; set; } = "1.2.0";
    public string Id { get; set; } = "";
    public string Status { get; set; } = "";
    public int Pid { get; set; }
    public string Bundle { get; set; } = "";
    public Dictionary<string, string>? Annotations { get; set; }
    public string? Rootfs { get; set; }
    public string? Created { get; set; }
    public string? Owner { get; set; }
}

/// <summary>
/// What the runtime sends a seccomp agent at linux.seccomp.listenerPath, with the listener
/// fd (named in Fds) attached (runtime-spec "container process state").
/// </summary>
public sealed class ContainerProcessState
{
    public string OciVersion { get; set; } = "1.2.0";
    public List<string> Fds { get; set; } = [];
    public int Pid { get; set; }
    public string? Metadata { get; set; }
    public ContainerState State { get; set; } = new();
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    WriteIndented = true)]
[JsonSerializable(typeof(RuntimeSpec))]
[JsonSerializable(typeof(Process))]
[JsonSerializable(typeof(ContainerState))]
[JsonSerializable(typeof(List<ContainerState>))]
[JsonSerializable(typeof(LinuxSeccomp))]
[JsonSerializable(typeof(ContainerProcessState))]
public sealed partial class OciJson : JsonSerializerContext;
