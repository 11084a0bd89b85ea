using System.Text.Json.Serialization;

namespace Skiff.Engine.Containers;

// What a container is made from, in Docker's own shape (Engine API ContainerConfig and
// HostConfig, same field names), so the CLI's flags, the API's create body and
// `inspect` all speak one model. Written once at create into DIR/config.json.

/// <summary>Docker's Config: what runs, independent of the host.</summary>
public sealed class ContainerConfig
{
    public string Hostname { get; set; } = "";
    public string Domainname { get; set; } = "";
    /// <summary>user[:group], by name or number; "" for the image's.</summary>
    public string User { get; set; } = "";
    public bool AttachStdin { get; set; }
    public bool AttachStdout { get; set; }
    public bool AttachStderr { get; set; }
    /// <summary>"80/tcp" → {}.</summary>
    public Dictionary<string, EmptyObject>? ExposedPorts { get; set; }
    public bool Tty { get; set; }
    public bool OpenStdin { get; set; }
    public bool StdinOnce { get; set; }
    /// <summary>KEY=VALUE after the image's (the merged list once created).</summary>
    public List<string>? Env { get; set; }
    public List<string>? Cmd { get; set; }
    /// <summary>The image as the user named it.</summary>
    public string Image { get; set; } = "";
    public Dictionary<string, EmptyObject>? Volumes { get; set; }
    public string WorkingDir { get; set; } = "";
    public List<string>? Entrypoint { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    public string? StopSignal { get; set; }
    public int? StopTimeout { get; set; }
}

public sealed class EmptyObject;

/// <summary>Docker's HostConfig: how it runs on this host.</summary>
public sealed class HostConfig
{
    /// <summary>-v: SRC:DST[:OPTS] (SRC a host path or a volume name).</summary>
    public List<string>? Binds { get; set; }
    public LogConfig LogConfig { get; set; } = new();
    /// <summary>none, host, private (skiff's default, Docker calls it bridge/default).</summary>
    public string NetworkMode { get; set; } = "";
    /// <summary>"80/tcp" → [{HostIp, HostPort}].</summary>
    public Dictionary<string, List<PortBinding>>? PortBindings { get; set; }
    public RestartPolicy RestartPolicy { get; set; } = new();
    public bool AutoRemove { get; set; }
    public List<string>? CapAdd { get; set; }
    public List<string>? CapDrop { get; set; }
    public List<string>? Dns { get; set; }
    public List<string>? DnsOptions { get; set; }
    public List<string>? DnsSearch { get; set; }
    /// <summary>--add-host: "host:ip".</summary>
    public List<string>? ExtraHosts { get; set; }
    public bool Privileged { get; set; }
    public bool ReadonlyRootfs { get; set; }
    public List<string>? SecurityOpt { get; set; }
    /// <summary>--tmpfs: path → options.</summary>
    public Dictionary<string, string>? Tmpfs { get; set; }
    /// <summary>[rows, cols] of the client's terminal at create.</summary>
    public List<ushort>? ConsoleSize { get; set; }
    /// <summary>Bytes; 0 for none.</summary>
    public long Memory { get; set; }
    public long MemorySwap { get; set; }
    /// <summary>CPUs × 1e9; 0 for none.</summary>
    public long NanoCpus { get; set; }
    public long? PidsLimit { get; set; }
    public List<Ulimit>? Ulimits { get; set; }
    public bool? Init { get; set; }
    /// <summary>--mount, and -v/--tmpfs once parsed.</summary>
    public List<MountSpec>? Mounts { get; set; }
}

public sealed class LogConfig
{
    /// <summary>json-file (default) or none.</summary>
    public string Type { get; set; } = "json-file";
    /// <summary>max-size ("10m"), max-file ("3").</summary>
    public Dictionary<string, string> Config { get; set; } = [];
}

public sealed class PortBinding
{
    public string HostIp { get; set; } = "";
    public string HostPort { get; set; } = "";
}

public sealed class RestartPolicy
{
    /// <summary>"", no, always, unless-stopped, on-failure.</summary>
    public string Name { get; set; } = "";
    public int MaximumRetryCount { get; set; }
}

public sealed class Ulimit
{
    public string Name { get; set; } = "";
    public long Soft { get; set; }
    public long Hard { get; set; }
}

/// <summary>Docker's mount.Mount: --mount type=bind|volume|tmpfs,...</summary>
public sealed class MountSpec
{
    /// <summary>bind, volume or tmpfs.</summary>
    public string Type { get; set; } = "";
    /// <summary>Host path (bind) or volume name (volume; "" for an anonymous one).</summary>
    public string Source { get; set; } = "";
    public string Target { get; set; } = "";
    public bool ReadOnly { get; set; }
    public BindOptions? BindOptions { get; set; }
    public VolumeOptions? VolumeOptions { get; set; }
    public TmpfsOptions? TmpfsOptions { get; set; }
}

public sealed class BindOptions
{
    /// <summary>rprivate (default), private, rshared, shared, rslave, slave.</summary>
    public string? Propagation { get; set; }
}

public sealed class VolumeOptions
{
    public bool NoCopy { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
}

public sealed class TmpfsOptions
{
    public long SizeBytes { get; set; }
    public int Mode { get; set; }
}

/// <summary>
/// Everything skiff keeps of a container besides its state: DIR/config.json. Immutable
/// after create except Name (rename).
/// </summary>
public sealed class ContainerDefinition
{
    public string Id { get; set; } = "";
    /// <summary>Without Docker's leading '/'.</summary>
    public string Name { get; set; } = "";
    /// <summary>RFC 3339 UTC with nanoseconds.</summary>
    public string Created { get; set; } = "";
    /// <summary>sha256:… of the image, or "" for --rootfs.</summary>
    public string ImageId { get; set; } = "";
    /// <summary>The program and its arguments, resolved from Entrypoint and Cmd (Docker's Path + Args).</summary>
    public string Path { get; set; } = "";
    public List<string> Args { get; set; } = [];
    /// <summary>Read-only layer directories, topmost first (a --rootfs directory is one layer).</summary>
    public List<string> Layers { get; set; } = [];
    /// <summary>The image's /etc/passwd and /etc/group text at create, for -u by name.</summary>
    public string? Passwd { get; set; }
    public string? Group { get; set; }
    public ContainerConfig Config { get; set; } = new();
    public HostConfig HostConfig { get; set; } = new();
    /// <summary>Created by a rootless skiff.</summary>
    public bool Rootless { get; set; }
    /// <summary>-v, --mount and --tmpfs as prepared at create: volumes made, sources resolved.</summary>
    public List<Volumes.MountPoint>? MountPoints { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ContainerDefinition))]
[JsonSerializable(typeof(ContainerConfig))]
[JsonSerializable(typeof(HostConfig))]
public sealed partial class ContainerJson : JsonSerializerContext;

