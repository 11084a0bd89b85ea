using System.Text.Json;
using Skiff.Oci;

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

/// <summary>
/// state.json by hand, not through a source-generated contract: every runtime verb Podman and
/// containerd call (create, start, state, kill, delete) reads or writes it, and the contract's
/// first-use configuration cost more than the rest of `state`.
/// </summary>
internal static class RecordJson
{
    public static byte[] Write(ContainerRecord record) => JsonBytes.Write(record, static (w, r) =>
    {
        w.WriteStartObject();
        w.WriteString("id", r.Id);
        w.WriteString("bundle", r.Bundle);
        w.WriteString("rootfs", r.Rootfs);
        w.WriteNumber("pid", r.Pid);
        w.WriteNumber("startTime", r.StartTime);
        w.WriteString("created", r.Created);
        w.WriteString("owner", r.Owner);
        if (r.Annotations is { } annotations)
        {
            w.WriteStartObject("annotations");
            foreach (var (k, v) in annotations)
            {
                w.WriteString(k, v);
            }
            w.WriteEndObject();
        }
        w.WriteString("cgroupPath", r.CgroupPath);
        if (r.CgroupsPathSpec is not null)
        {
            w.WriteString("cgroupsPathSpec", r.CgroupsPathSpec);
        }
        w.WriteBoolean("rootless", r.Rootless);
        w.WriteBoolean("started", r.Started);
        w.WriteEndObject();
    }, indented: true);

    public static ContainerRecord Read(ReadOnlySpan<byte> json) => JsonCursor.Read(json, Record);

    private static ContainerRecord Record(ref JsonCursor j)
    {
        var r = new ContainerRecord();
        if (!j.StartObject())
        {
            return r;
        }
        while (j.NextProperty(out string name))
        {
            switch (name)
            {
                case "id": r.Id = j.RequiredString(); break;
                case "bundle": r.Bundle = j.RequiredString(); break;
                case "rootfs": r.Rootfs = j.RequiredString(); break;
                case "pid": r.Pid = j.NullableInt32() ?? 0; break;
                case "startTime": r.StartTime = j.UInt64(); break;
                case "created": r.Created = j.RequiredString(); break;
                case "owner": r.Owner = j.RequiredString(); break;
                case "annotations": r.Annotations = j.StringMap(); break;
                case "cgroupPath": r.CgroupPath = j.RequiredString(); break;
                case "cgroupsPathSpec": r.CgroupsPathSpec = j.String(); break;
                case "rootless": r.Rootless = j.Bool(); break;
                case "started": r.Started = j.Bool(); break;
                default: j.Skip(); break;
            }
        }
        return r;
    }
}

/// <summary>ROOT/ID directories: claimed atomically, written by rename, removed whole.</summary>
public sealed class ContainerStore(string root)
{
    public string Root { get; } = root;

    public string Dir(string id) => Path.Combine(Root, id);
    public string Fifo(string id) => Path.Combine(Dir(id), "exec.fifo");
    private string StateFile(string id) => Path.Combine(Dir(id), "state.json");

    /// <summary>The bundle's config.json as create read it: what exec, start and delete go by, as in runc.</summary>
    public string ConfigFile(string id) => Path.Combine(Dir(id), "config.json");

    public void SaveConfig(string id, byte[] json) => SmallFile.WriteNew(ConfigFile(id), json, 0x180 /* 0600: it may hold secrets in env */);

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

    /// <summary>
    /// Written whole to a temporary file and renamed over: a reader sees the old record or the new.
    /// Not fsynced, as runc and crun do not: the root is under /run, and a crash that loses the
    /// write loses the container's processes with it.
    /// </summary>
    public void Save(ContainerRecord record)
    {
        SmallFile.Replace(StateFile(record.Id), RecordJson.Write(record));
    }

    public ContainerRecord Load(string id)
    {
        CheckId(id);
        string path = StateFile(id);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            throw SkiffException.NotFound($"container does not exist: {id}");
        }
        catch (DirectoryNotFoundException)
        {
            throw SkiffException.NotFound($"container does not exist: {id}");
        }
        try
        {
            return RecordJson.Read(bytes);
        }
        catch (JsonFormatException e)
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
