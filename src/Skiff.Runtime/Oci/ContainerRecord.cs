using System.Text.Json;
using System.Text.Json.Serialization;

namespace Skiff.Runtime.Oci;

/// <summary>What skiff-runc keeps of a container in ROOT/ID/state.json.</summary>
public sealed class ContainerRecord
{
    public string Id { get; set; } = "";
    public string Bundle { get; set; } = "";
    public string Rootfs { get; set; } = "";
    public int Pid { get; set; }
    /// <summary>/proc/PID/stat start time: tells our process from a later one with a reused pid.</summary>
    public ulong StartTime { get; set; }
    public string Created { get; set; } = "";
    public string Owner { get; set; } = "";
    public Dictionary<string, string>? Annotations { get; set; }
    public string CgroupPath { get; set; } = "";
    public string? CgroupsPathSpec { get; set; }
    public bool Rootless { get; set; }
    public bool Started { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ContainerRecord))]
internal sealed partial class RecordJson : JsonSerializerContext;

/// <summary>ROOT/ID directories: claimed atomically, written by rename, removed whole.</summary>
public sealed class ContainerStore(string root)
{
    public string Root { get; } = root;

    public string Dir(string id) => Path.Combine(Root, id);
    public string Fifo(string id) => Path.Combine(Dir(id), "exec.fifo");
    private string StateFile(string id) => Path.Combine(Dir(id), "state.json");

    public static void CheckId(string id)
    {
        if (id.Length == 0 || id.Length > 1024 || id is "." or ".." ||
            !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '+'))
        {
            throw SkiffException.Invalid($"invalid container id \"{id}\": use letters, digits, '_', '-', '.' and '+'");
        }
    }

    /// <summary>mkdir of ROOT/ID: two creates of one id race here, and one loses.</summary>
    public void Claim(string id)
    {
        CheckId(id);
        Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (Interop.Libc.mkdir(Dir(id), 0x1C0) < 0)
        {
            int err = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw err == Errno.EEXIST
                ? new SkiffException(ErrorCategory.AlreadyExists, $"container with id exists: {id}")
                : new SystemCallException($"mkdir {Dir(id)}", err);
        }
    }

    public void Save(ContainerRecord record)
    {
        string tmp = StateFile(record.Id) + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(f, record, RecordJson.Default.ContainerRecord);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, StateFile(record.Id), overwrite: true);
    }

    public ContainerRecord Load(string id)
    {
        CheckId(id);
        string path = StateFile(id);
        if (!File.Exists(path))
        {
            throw SkiffException.NotFound($"container does not exist: {id}");
        }
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), RecordJson.Default.ContainerRecord)
                   ?? throw SkiffException.Internal($"{path}: empty state");
        }
        catch (JsonException e)
        {
            throw SkiffException.Internal($"{path}: corrupt state ({e.Message}); delete --force removes it");
        }
    }

    /// <summary>Ids with a directory, including ones a crashed create left without state.json.</summary>
    public IEnumerable<string> Ids() =>
        Directory.Exists(Root) ? Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OfType<string>().Order() : [];

    public bool HasState(string id) => File.Exists(StateFile(id));

    public void Remove(string id)
    {
        CheckId(id);
        if (Directory.Exists(Dir(id)))
        {
            Directory.Delete(Dir(id), recursive: true);
        }
    }
}
