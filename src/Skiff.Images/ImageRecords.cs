using System.Text.Json.Serialization;

namespace Skiff.Images;

/// <summary>One image the store holds: its ID (the config digest), names and layers.</summary>
public sealed class ImageRecord
{
    /// <summary>sha256:HEX of the config blob.</summary>
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("manifest")] public string Manifest { get; set; } = "";
    [JsonPropertyName("manifestMediaType")] public string ManifestMediaType { get; set; } = MediaTypes.OciManifest;
    /// <summary>Full names with tags: docker.io/library/busybox:latest.</summary>
    [JsonPropertyName("names")] public List<string> Names { get; set; } = [];
    /// <summary>name@sha256:... of the manifest as a registry served it.</summary>
    [JsonPropertyName("repoDigests")] public List<string> RepoDigests { get; set; } = [];
    /// <summary>Chain IDs, bottom layer first.</summary>
    [JsonPropertyName("layers")] public List<string> Layers { get; set; } = [];
    [JsonPropertyName("created")] public string? Created { get; set; }
    /// <summary>Unpacked (uncompressed tar) size of all layers.</summary>
    [JsonPropertyName("size")] public long Size { get; set; }
    [JsonPropertyName("added")] public DateTimeOffset Added { get; set; }
}

/// <summary>images/index.json: every image and every name.</summary>
public sealed class ImageIndexFile
{
    [JsonPropertyName("images")] public List<ImageRecord> Images { get; set; } = [];
}

/// <summary>
/// What `run IMAGE` needs and nothing else: the layer directories (top first) and the
/// image's runtime defaults, so the hot path reads one small file instead of manifests.
/// </summary>
public sealed class LaunchRecord
{
    [JsonPropertyName("layers")] public List<string> Layers { get; set; } = [];
    [JsonPropertyName("env")] public List<string>? Env { get; set; }
    [JsonPropertyName("entrypoint")] public List<string>? Entrypoint { get; set; }
    [JsonPropertyName("cmd")] public List<string>? Cmd { get; set; }
    [JsonPropertyName("workingDir")] public string? WorkingDir { get; set; }
    [JsonPropertyName("user")] public string? User { get; set; }
}
