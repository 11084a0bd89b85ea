using System.Text.Json.Serialization;
using Skiff.Oci;

namespace Skiff.Engine.Seccomp;

// Docker's seccomp profile format (moby/profiles seccomp.Seccomp): the runtime-spec
// LinuxSeccomp plus an arch map and rules that apply only for some capabilities, arches
// or kernels. A plain OCI profile ("architectures", rules without conditions) reads as
// one too, as it does in Docker.

public sealed class DockerSeccompProfile
{
    public string DefaultAction { get; set; } = "";
    public uint? DefaultErrnoRet { get; set; }
    public List<string>? Architectures { get; set; }
    public List<SeccompArchMap>? ArchMap { get; set; }
    public List<string>? Flags { get; set; }
    public string? ListenerPath { get; set; }
    public string? ListenerMetadata { get; set; }
    public List<DockerSyscallRule>? Syscalls { get; set; }
}

public sealed class SeccompArchMap
{
    public string Architecture { get; set; } = "";
    public List<string>? SubArchitectures { get; set; }
}

public sealed class DockerSyscallRule
{
    public List<string>? Names { get; set; }
    /// <summary>Before "names" existed: one syscall per rule.</summary>
    public string? Name { get; set; }
    public string Action { get; set; } = "";
    public uint? ErrnoRet { get; set; }
    public List<SeccompArg>? Args { get; set; }
    public string? Comment { get; set; }
    public SyscallCondition? Includes { get; set; }
    public SyscallCondition? Excludes { get; set; }
}

public sealed class SyscallCondition
{
    public List<string>? Caps { get; set; }
    /// <summary>libseccomp's native arch names: amd64, x86, x32, arm64, s390x, ...</summary>
    public List<string>? Arches { get; set; }
    /// <summary>"major.minor", e.g. "4.8".</summary>
    public string? MinKernel { get; set; }
}

// Go's encoding/json matches keys case-insensitively; Docker profiles rely on it.
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(DockerSeccompProfile))]
public sealed partial class DockerSeccompJson : JsonSerializerContext;
