using System.Text.Json;
using Skiff.Engine.Containers;
using TreeRemover = Skiff.Images.TreeRemover;
using Skiff.Runtime;

namespace Skiff.Tests.Containers.Listing;

/// <summary>
/// Hand-made container directories in a temporary root, the way the supervisor and
/// `create` leave them: config.json, state.json, names/NAME, ID-json.log. A "running"
/// container's supervisor and process are this test process, which is alive.
/// </summary>
public sealed class ContainerDirs : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("skiff-listing-").FullName;

    public ContainerStore Store { get; }

    public DateTime Now { get; } = new(2026, 11, 28, 8, 0, 0, DateTimeKind.Utc);

    public ContainerDirs() => Store = new ContainerStore(new SkiffPaths(Root));

    public void Dispose() => TreeRemover.Remove(Root);

    public static string Time(DateTime t) => ContainerState.FormatTime(t);

    /// <summary>A container created `createdAgo` before Now, in the given state.</summary>
    public string Add(string name, string status = "running", string path = "sleep", string[]? args = null, TimeSpan? createdAgo = null,
        TimeSpan? startedAgo = null, TimeSpan? finishedAgo = null, int exitCode = 0, string image = "busybox",
        string imageId = "sha256:1111111111111111111111111111111111111111111111111111111111111111",
        Action<ContainerDefinition>? configure = null, int? supervisorPid = null)
    {
        string id = SkiffPaths.NewContainerId();
        var def = new ContainerDefinition
        {
            Id = id,
            Name = name,
            Created = Time(Now - (createdAgo ?? TimeSpan.FromMinutes(5))),
            ImageId = imageId,
            Path = path,
            Args = (args ?? ["100"]).ToList(),
            Layers = ["/layers/b/diff", "/layers/a/diff"],
            Config = new ContainerConfig { Image = image, Cmd = [path, .. args ?? ["100"]] },
        };
        configure?.Invoke(def);
        string dir = Path.Combine(Store.Root, id);
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "config.json"), JsonSerializer.SerializeToUtf8Bytes(def, ContainerJson.Default.ContainerDefinition));
        bool live = status is "running" or "paused" or "restarting";
        var state = new ContainerState
        {
            Status = status == "paused" ? "running" : status,
            Pid = live ? Environment.ProcessId : 0,
            SupervisorPid = live ? supervisorPid ?? Environment.ProcessId : 0,
            ExitCode = exitCode,
            StartedAt = startedAgo is { } s ? Time(Now - s) : status == "created" ? ContainerState.ZeroTime : Time(Now - TimeSpan.FromMinutes(4)),
            FinishedAt = finishedAgo is { } f ? Time(Now - f) : ContainerState.ZeroTime,
        };
        StateFile.Write(dir, state);
        if (status == "paused")
        {
            File.WriteAllText(Path.Combine(dir, "paused"), "");
        }
        Directory.CreateDirectory(Store.NamesDir);
        File.CreateSymbolicLink(Path.Combine(Store.NamesDir, name), id);
        return id;
    }

    public string Dir(string id) => Path.Combine(Store.Root, id);

    public string LogPath(string id) => LogReader.LogPath(Store, id);

    public void SetState(string id, Action<ContainerState> change)
    {
        var state = StateFile.Read(Dir(id));
        change(state);
        StateFile.Write(Dir(id), state);
    }

    /// <summary>A json-file record as the supervisor writes it.</summary>
    public static string Record(string stream, string text, DateTime time) =>
        "{\"log\":" + JsonSerializer.Serialize(text, ListingJson.Default.String) + ",\"stream\":\"" + stream + "\",\"time\":\"" + Time(time) + "\"}\n";

    public void AppendLog(string id, string stream, string text, DateTime time, string? file = null) =>
        File.AppendAllText(file ?? LogPath(id), Record(stream, text, time));
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class ListingJson : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>An image store stand-in: names to ids, ids to sizes.</summary>
public sealed class FakeImages(Dictionary<string, string> ids, Dictionary<string, long>? sizes = null) : IImageLookup
{
    public string? ResolveId(string reference) => ids.TryGetValue(reference, out var id) ? id : null;

    public long Size(string imageId) => sizes is not null && sizes.TryGetValue(imageId, out long s) ? s : 0;
}
