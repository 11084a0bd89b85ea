using System.Text.Json;
using System.Text.Json.Serialization;

namespace Skiff.Api.Json;

// The Engine API's own shapes, PascalCase as Docker writes them (C# names are the JSON names).
// Progress messages are the exception: Docker's jsonmessage uses lower-case keys.

public sealed class VersionComponent
{
    public string Name { get; set; } = "";
    public string Version { get; set; } = "";
    public Dictionary<string, string>? Details { get; set; }
}

public sealed class PlatformName
{
    public string Name { get; set; } = "";
}

public sealed class VersionResponse
{
    public PlatformName Platform { get; set; } = new();
    public List<VersionComponent> Components { get; set; } = [];
    public string Version { get; set; } = "";
    public string ApiVersion { get; set; } = "";
    public string MinAPIVersion { get; set; } = "";
    public string GitCommit { get; set; } = "";
    public string GoVersion { get; set; } = "";
    public string Os { get; set; } = "linux";
    public string Arch { get; set; } = "";
    public string KernelVersion { get; set; } = "";
    public string BuildTime { get; set; } = "";
}

public sealed class SwarmInfo
{
    public string NodeID { get; set; } = "";
    public string NodeAddr { get; set; } = "";
    public string LocalNodeState { get; set; } = "inactive";
    public bool ControlAvailable { get; set; }
    public string Error { get; set; } = "";
    public List<string>? RemoteManagers { get; set; }
}

public sealed class PluginsInfo
{
    public List<string> Volume { get; set; } = [];
    public List<string> Network { get; set; } = [];
    public List<string>? Authorization { get; set; }
    public List<string> Log { get; set; } = [];
}

public sealed class RuntimeInfo
{
    [JsonPropertyName("path")] public string Path { get; set; } = "";
}

public sealed class CommitInfo
{
    public string ID { get; set; } = "";
}

public sealed class IndexInfo
{
    public string Name { get; set; } = "";
    public List<string> Mirrors { get; set; } = [];
    public bool Secure { get; set; }
    public bool Official { get; set; }
}

public sealed class RegistryServiceConfig
{
    public List<string> InsecureRegistryCIDRs { get; set; } = [];
    public Dictionary<string, IndexInfo> IndexConfigs { get; set; } = [];
    public List<string> Mirrors { get; set; } = [];
}

/// <summary>GET /info: Docker's SystemInfo, with the fields the docker CLI prints.</summary>
public sealed class SystemInfo
{
    public string ID { get; set; } = "";
    public int Containers { get; set; }
    public int ContainersRunning { get; set; }
    public int ContainersPaused { get; set; }
    public int ContainersStopped { get; set; }
    public int Images { get; set; }
    public string Driver { get; set; } = "overlay";
    public List<List<string>> DriverStatus { get; set; } = [];
    public PluginsInfo Plugins { get; set; } = new();
    public bool MemoryLimit { get; set; }
    public bool SwapLimit { get; set; }
    public bool CpuCfsPeriod { get; set; }
    public bool CpuCfsQuota { get; set; }
    public bool CPUShares { get; set; }
    public bool CPUSet { get; set; }
    public bool PidsLimit { get; set; }
    public bool IPv4Forwarding { get; set; }
    public bool Debug { get; set; }
    public int NFd { get; set; }
    public bool OomKillDisable { get; set; }
    public int NGoroutines { get; set; }
    public string SystemTime { get; set; } = "";
    public string LoggingDriver { get; set; } = "json-file";
    public string CgroupDriver { get; set; } = "cgroupfs";
    public string CgroupVersion { get; set; } = "";
    public int NEventsListener { get; set; }
    public string KernelVersion { get; set; } = "";
    public string OperatingSystem { get; set; } = "";
    public string OSVersion { get; set; } = "";
    public string OSType { get; set; } = "linux";
    public string Architecture { get; set; } = "";
    public string IndexServerAddress { get; set; } = "https://index.docker.io/v1/";
    public RegistryServiceConfig RegistryConfig { get; set; } = new();
    public int NCPU { get; set; }
    public long MemTotal { get; set; }
    public string DockerRootDir { get; set; } = "";
    public string HttpProxy { get; set; } = "";
    public string HttpsProxy { get; set; } = "";
    public string NoProxy { get; set; } = "";
    public string Name { get; set; } = "";
    public List<string> Labels { get; set; } = [];
    public bool ExperimentalBuild { get; set; }
    public string ServerVersion { get; set; } = "";
    public Dictionary<string, RuntimeInfo> Runtimes { get; set; } = [];
    public string DefaultRuntime { get; set; } = "skiff";
    public SwarmInfo Swarm { get; set; } = new();
    public bool LiveRestoreEnabled { get; set; }
    public string Isolation { get; set; } = "";
    public string InitBinary { get; set; } = "";
    public CommitInfo ContainerdCommit { get; set; } = new();
    public CommitInfo RuncCommit { get; set; } = new();
    public CommitInfo InitCommit { get; set; } = new();
    public List<string> SecurityOptions { get; set; } = [];
    public List<string> Warnings { get; set; } = [];
}

/// <summary>One row of GET /images/json.</summary>
public sealed class ImageSummary
{
    public string Id { get; set; } = "";
    public string ParentId { get; set; } = "";
    public List<string> RepoTags { get; set; } = [];
    public List<string> RepoDigests { get; set; } = [];
    public long Created { get; set; }
    public long Size { get; set; }
    public long SharedSize { get; set; } = -1;
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public Dictionary<string, string>? Labels { get; set; }
    public long Containers { get; set; } = -1;
}

/// <summary>One line of DELETE /images/{name} and of the prune report.</summary>
public sealed class ImageDeleteItem
{
    public string? Untagged { get; set; }
    public string? Deleted { get; set; }
}

public sealed class ImagePruneReport
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public List<ImageDeleteItem>? ImagesDeleted { get; set; }
    public long SpaceReclaimed { get; set; }
}

/// <summary>One row of GET /images/{name}/history.</summary>
public sealed class ImageHistoryItem
{
    public string Id { get; set; } = "";
    public long Created { get; set; }
    public string CreatedBy { get; set; } = "";
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public List<string>? Tags { get; set; }
    public long Size { get; set; }
    public string Comment { get; set; } = "";
}

public sealed class ProgressDetail
{
    [JsonPropertyName("current")] public long? Current { get; set; }
    [JsonPropertyName("total")] public long? Total { get; set; }
}

public sealed class ErrorDetail
{
    [JsonPropertyName("message")] public string Message { get; set; } = "";
}

/// <summary>One line of a JSON progress stream (pull, push, load, build): Docker's jsonmessage.</summary>
public sealed class ProgressMessage
{
    [JsonPropertyName("stream")] public string? Stream { get; set; }
    [JsonPropertyName("status")] public string? Status { get; set; }
    [JsonPropertyName("progressDetail")] public ProgressDetail? ProgressDetail { get; set; }
    [JsonPropertyName("progress")] public string? Progress { get; set; }
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("errorDetail")] public ErrorDetail? ErrorDetail { get; set; }
    [JsonPropertyName("error")] public string? Error { get; set; }
    [JsonPropertyName("aux")] public JsonElement? Aux { get; set; }
}

/// <summary>The aux line after a push: what `docker push` and content trust read.</summary>
public sealed class PushResult
{
    public string Tag { get; set; } = "";
    public string Digest { get; set; } = "";
    public long Size { get; set; }
}

/// <summary>X-Registry-Auth: base64url JSON of the client's credentials for one registry.</summary>
public sealed class AuthConfig
{
    [JsonPropertyName("username")] public string? Username { get; set; }
    [JsonPropertyName("password")] public string? Password { get; set; }
    [JsonPropertyName("auth")] public string? Auth { get; set; }
    [JsonPropertyName("email")] public string? Email { get; set; }
    [JsonPropertyName("serveraddress")] public string? ServerAddress { get; set; }
    [JsonPropertyName("identitytoken")] public string? IdentityToken { get; set; }
    [JsonPropertyName("registrytoken")] public string? RegistryToken { get; set; }
}

/// <summary>POST /auth's answer.</summary>
public sealed class AuthResponse
{
    public string Status { get; set; } = "";
    public string IdentityToken { get; set; } = "";
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(SystemInfo))]
[JsonSerializable(typeof(List<ImageSummary>))]
[JsonSerializable(typeof(List<ImageDeleteItem>))]
[JsonSerializable(typeof(ImagePruneReport))]
[JsonSerializable(typeof(List<ImageHistoryItem>))]
[JsonSerializable(typeof(ProgressMessage))]
[JsonSerializable(typeof(PushResult))]
[JsonSerializable(typeof(AuthConfig))]
[JsonSerializable(typeof(AuthResponse))]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
public sealed partial class ApiJson : JsonSerializerContext;
