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

/// <summary>
/// The image index and launch records read by hand: `run IMAGE` reads both on its hot path,
/// where the source-generated contracts' first-use configuration cost more than the reads.
/// Written with ImageJson as before; ImageRecordJsonTests holds the two to the same result.
/// </summary>
public static class ImageRecordJson
{
    public static ImageIndexFile ReadIndex(ReadOnlySpan<byte> json, string what) => Read(json, Index, what);

    public static LaunchRecord ReadLaunch(ReadOnlySpan<byte> json, string what) => Read(json, Launch, what);

    private static T Read<T>(ReadOnlySpan<byte> json, JsonCursor.ReadValue<T> read, string what)
    {
        try
        {
            return JsonCursor.Read(json, read);
        }
        catch (JsonFormatException e)
        {
            throw SkiffException.Invalid($"{what} does not parse: {e.Message}");
        }
    }

    private static ImageIndexFile Index(ref JsonCursor r)
    {
        var index = new ImageIndexFile();
        if (!r.StartObject())
        {
            return index;
        }
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "images": index.Images = r.List(Image) ?? []; break;
                default: r.Skip(); break;
            }
        }
        return index;
    }

    private static ImageRecord Image(ref JsonCursor r)
    {
        var image = new ImageRecord();
        if (!r.StartObject())
        {
            throw r.Error("expected an image record, got null");
        }
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "id": image.Id = r.RequiredString(); break;
                case "manifest": image.Manifest = r.RequiredString(); break;
                case "manifestMediaType": image.ManifestMediaType = r.RequiredString(); break;
                case "names": image.Names = r.StringList() ?? []; break;
                case "repoDigests": image.RepoDigests = r.StringList() ?? []; break;
                case "layers": image.Layers = r.StringList() ?? []; break;
                case "created": image.Created = r.String(); break;
                case "size": image.Size = r.Int64(); break;
                case "added": image.Added = r.DateTimeOffset(); break;
                default: r.Skip(); break;
            }
        }
        return image;
    }

    private static LaunchRecord Launch(ref JsonCursor r)
    {
        var launch = new LaunchRecord();
        if (!r.StartObject())
        {
            return launch;
        }
        while (r.NextProperty(out string name))
        {
            switch (name)
            {
                case "layers": launch.Layers = r.StringList() ?? []; break;
                case "env": launch.Env = r.StringList(); break;
                case "entrypoint": launch.Entrypoint = r.StringList(); break;
                case "cmd": launch.Cmd = r.StringList(); break;
                case "workingDir": launch.WorkingDir = r.String(); break;
                case "user": launch.User = r.String(); break;
                default: r.Skip(); break;
            }
        }
        return launch;
    }
}
