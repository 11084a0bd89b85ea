using System.Text.Json;
using System.Text.Json.Serialization;
using Skiff.Engine.Containers;
using Skiff.Engine.Volumes;

namespace Skiff.Api.Json;

// The shapes of the container, exec, volume, event and disk-usage endpoints that the
// Engine's own models do not already give (PascalCase, as Docker writes them).

/// <summary>POST /containers/create: the body is a Config with HostConfig and NetworkingConfig embedded; this reads the two.</summary>
public sealed class ContainerCreateBody
{
    public HostConfig? HostConfig { get; set; }
    public JsonElement? NetworkingConfig { get; set; }
}

public sealed class ContainerCreateResponse
{
    public string Id { get; set; } = "";
    public List<string> Warnings { get; set; } = [];
}

public sealed class WaitExitError
{
    public string Message { get; set; } = "";
}

/// <summary>The body of POST /containers/{id}/wait once the condition holds.</summary>
public sealed class ContainerWaitResponse
{
    public int StatusCode { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public WaitExitError? Error { get; set; }
}

public sealed class ContainerPruneReport
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public List<string>? ContainersDeleted { get; set; }
    public long SpaceReclaimed { get; set; }
}

/// <summary>POST /containers/{id}/exec: Docker's ExecConfig.</summary>
public sealed class ExecCreateRequest
{
    public string? User { get; set; }
    public bool Privileged { get; set; }
    public bool Tty { get; set; }
    public List<ushort>? ConsoleSize { get; set; }
    public bool AttachStdin { get; set; }
    public bool AttachStdout { get; set; }
    public bool AttachStderr { get; set; }
    public bool Detach { get; set; }
    public string? DetachKeys { get; set; }
    public List<string>? Env { get; set; }
    public string? WorkingDir { get; set; }
    public List<string>? Cmd { get; set; }
}

public sealed class IdResponse
{
    public string Id { get; set; } = "";
}

/// <summary>POST /exec/{id}/start.</summary>
public sealed class ExecStartRequest
{
    public bool Detach { get; set; }
    public bool Tty { get; set; }
    public List<ushort>? ConsoleSize { get; set; }
}

public sealed class ExecProcessConfig
{
    [JsonPropertyName("tty")] public bool Tty { get; set; }
    [JsonPropertyName("entrypoint")] public string Entrypoint { get; set; } = "";
    [JsonPropertyName("arguments")] public List<string> Arguments { get; set; } = [];
    [JsonPropertyName("privileged")] public bool Privileged { get; set; }
    [JsonPropertyName("user")] public string User { get; set; } = "";
}

/// <summary>GET /exec/{id}/json.</summary>
public sealed class ExecInspectResponse
{
    public bool CanRemove { get; set; }
    public string ContainerID { get; set; } = "";
    public string DetachKeys { get; set; } = "";
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public int? ExitCode { get; set; }
    public string ID { get; set; } = "";
    public bool OpenStderr { get; set; }
    public bool OpenStdin { get; set; }
    public bool OpenStdout { get; set; }
    public ExecProcessConfig ProcessConfig { get; set; } = new();
    public bool Running { get; set; }
    public int Pid { get; set; }
}

/// <summary>POST /volumes/create.</summary>
public sealed class VolumeCreateRequest
{
    public string? Name { get; set; }
    public string? Driver { get; set; }
    public Dictionary<string, string>? DriverOpts { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
}

public sealed class VolumeUsageData
{
    public long Size { get; set; } = -1;
    public long RefCount { get; set; } = -1;
}

/// <summary>Docker's volume.Volume (VolumeRecord's fields, and UsageData for /system/df).</summary>
public sealed class VolumeResponse
{
    public string CreatedAt { get; set; } = "";
    public string Driver { get; set; } = "";
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public Dictionary<string, string>? Labels { get; set; }
    public string Mountpoint { get; set; } = "";
    public string Name { get; set; } = "";
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public Dictionary<string, string>? Options { get; set; }
    public string Scope { get; set; } = "local";
    public VolumeUsageData? UsageData { get; set; }

    public static VolumeResponse From(VolumeRecord v) => new()
    {
        CreatedAt = v.CreatedAt,
        Driver = v.Driver,
        Labels = v.Labels,
        Mountpoint = v.Mountpoint,
        Name = v.Name,
        Options = v.Options,
        Scope = v.Scope,
    };
}

public sealed class VolumeListResponse
{
    public List<VolumeResponse> Volumes { get; set; } = [];
    public List<string> Warnings { get; set; } = [];
}

public sealed class VolumePruneReport
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public List<string>? VolumesDeleted { get; set; }
    public long SpaceReclaimed { get; set; }
}

/// <summary>One image row of /system/df (images/json's fields with the container count).</summary>
public sealed class DiskUsageImage
{
    public string Id { get; set; } = "";
    public string ParentId { get; set; } = "";
    public List<string> RepoTags { get; set; } = [];
    public List<string> RepoDigests { get; set; } = [];
    public long Created { get; set; }
    public long Size { get; set; }
    public long SharedSize { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public Dictionary<string, string>? Labels { get; set; }
    public long Containers { get; set; }
}

/// <summary>GET /system/df.</summary>
public sealed class DiskUsageResponse
{
    public long LayersSize { get; set; }
    public List<DiskUsageImage> Images { get; set; } = [];
    public List<ContainerSummary> Containers { get; set; } = [];
    public List<VolumeResponse> Volumes { get; set; } = [];
    public List<JsonElement> BuildCache { get; set; } = [];
}

public sealed class EventActor
{
    public string ID { get; set; } = "";
    public Dictionary<string, string> Attributes { get; set; } = [];
}

/// <summary>One line of GET /events: Docker's events.Message (with the old status/id/from for containers and images).</summary>
public sealed class EventMessage
{
    [JsonPropertyName("status")] public string? Status { get; set; }
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("from")] public string? From { get; set; }
    public string Type { get; set; } = "";
    public string Action { get; set; } = "";
    public EventActor Actor { get; set; } = new();
    [JsonPropertyName("scope")] public string Scope { get; set; } = "local";
    [JsonPropertyName("time")] public long Time { get; set; }
    [JsonPropertyName("timeNano")] public long TimeNano { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(ContainerConfig))]
[JsonSerializable(typeof(ContainerCreateBody))]
[JsonSerializable(typeof(ContainerCreateResponse))]
[JsonSerializable(typeof(ContainerWaitResponse))]
[JsonSerializable(typeof(ContainerPruneReport))]
[JsonSerializable(typeof(ExecCreateRequest))]
[JsonSerializable(typeof(ExecStartRequest))]
[JsonSerializable(typeof(ExecInspectResponse))]
[JsonSerializable(typeof(IdResponse))]
[JsonSerializable(typeof(VolumeCreateRequest))]
[JsonSerializable(typeof(VolumeResponse))]
[JsonSerializable(typeof(VolumeListResponse))]
[JsonSerializable(typeof(VolumePruneReport))]
[JsonSerializable(typeof(DiskUsageResponse))]
[JsonSerializable(typeof(EventMessage))]
public sealed partial class ContainerApiJson : JsonSerializerContext;
