using System.Globalization;
using Skiff.Images;

namespace Skiff.Engine.Volumes;

/// <summary>
/// Docker's local volumes: ROOT/volumes/NAME/_data with ROOT/volumes/NAME/volume.json.
/// A volume appears whole or not at all: it is built under a temporary name and renamed
/// in, and it leaves the same way (renamed aside, then removed). Every change holds
/// ROOT/volumes/.lock, so any number of skiff processes may create, use and remove
/// volumes at once. Names that start with a dot are skiff's own (Docker's rule makes
/// them impossible volume names).
/// </summary>
public sealed class VolumeStore
{
    public const string LocalDriver = "local";
    private const string TmpPrefix = ".tmp-";
    private const string RemovedPrefix = ".rm-";

    private readonly Func<IEnumerable<(string ContainerId, IEnumerable<string> VolumeNames)>> _usage;
    private readonly Action<string> _removeTree;

    /// <param name="root">The storage root (SkiffPaths.Root).</param>
    /// <param name="usage">Which containers use which volumes (the container store's listing); none when null.</param>
    /// <param name="removeTree">rm -rf; the default is skiff's native walk, which also clears unreadable directories.</param>
    public VolumeStore(string root, Func<IEnumerable<(string ContainerId, IEnumerable<string> VolumeNames)>>? usage = null, Action<string>? removeTree = null)
    {
        Dir = Path.Combine(root, "volumes");
        _usage = usage ?? (() => []);
        _removeTree = removeTree ?? (path => Skiff.Linux.LinuxSyscalls.Instance.RemoveTree(path, -1));
    }

    /// <summary>ROOT/volumes.</summary>
    public string Dir { get; }

    public string VolumeDir(string name) => Path.Combine(Dir, name);

    public string DataDir(string name) => Path.Combine(Dir, name, "_data");

    private string LockPath => Path.Combine(Dir, ".lock");

    /// <summary>
    /// docker volume create: a new volume, or the existing one of that name unchanged (as
    /// Docker answers). No name gives a 64-hex one (not anonymous: Docker 23+ keeps such
    /// volumes from a plain prune).
    /// </summary>
    public VolumeRecord Create(string? name, IReadOnlyDictionary<string, string>? labels = null, IReadOnlyDictionary<string, string>? options = null, string driver = LocalDriver)
    {
        name = string.IsNullOrEmpty(name) ? VolumeNames.New() : name;
        VolumeNames.Validate(name);
        CheckDriver(name, driver);
        CheckOptions(options);
        return CreateOrGet(name, labels, options).Volume;
    }

    /// <summary>A new anonymous volume: a 64-hex name and Docker's anonymous label.</summary>
    public VolumeRecord CreateAnonymous() =>
        CreateOrGet(VolumeNames.New(), new Dictionary<string, string> { [VolumeNames.AnonymousLabel] = "" }, null).Volume;

    /// <summary>
    /// At container create: the named volume, made on first use; or, for a null or empty
    /// name, a new anonymous one. Created says whether this call made it.
    /// </summary>
    public (VolumeRecord Volume, bool Created) EnsureForMount(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return CreateOrGet(VolumeNames.New(), new Dictionary<string, string> { [VolumeNames.AnonymousLabel] = "" }, null);
        }
        VolumeNames.Validate(name);
        return CreateOrGet(name, null, null);
    }

    private (VolumeRecord Volume, bool Created) CreateOrGet(string name, IReadOnlyDictionary<string, string>? labels, IReadOnlyDictionary<string, string>? options)
    {
        if (Find(name) is { } existing)
        {
            return (existing, false);
        }
        // Private: what a container writes to its volume is no other user's business (mounts need no path access).
        Directory.CreateDirectory(Dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var hold = StoreLock.Acquire(LockPath);
        if (Find(name) is { } raced)
        {
            return (raced, false);
        }
        SweepLeftovers();
        string tmp = Path.Combine(Dir, TempNames.New(TmpPrefix));
        try
        {
            var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            var open = owner | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
            Directory.CreateDirectory(tmp, open);
            Directory.CreateDirectory(Path.Combine(tmp, "_data"), open);
            var record = new VolumeRecord
            {
                Name = name,
                Mountpoint = DataDir(name),
                CreatedAt = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                Labels = labels is null ? null : new Dictionary<string, string>(labels),
                Options = options is null ? null : new Dictionary<string, string>(options),
            };
            AtomicFile.WriteJson(Path.Combine(tmp, "volume.json"), record, VolumeJson.Default.VolumeRecord);
            Directory.Move(tmp, VolumeDir(name));
            VolumeNative.SyncDirectory(Dir);
            return (record, true);
        }
        catch
        {
            TryRemove(tmp);
            throw;
        }
    }

    /// <summary>The volume, or null. A directory without a readable volume.json is not a volume.</summary>
    public VolumeRecord? Find(string name)
    {
        if (!VolumeNames.IsValid(name))
        {
            return null;
        }
        string file = Path.Combine(VolumeDir(name), "volume.json");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        VolumeRecord? record;
        try
        {
            record = System.Text.Json.JsonSerializer.Deserialize(bytes, VolumeJson.Default.VolumeRecord);
        }
        catch (System.Text.Json.JsonException)
        {
            throw SkiffException.Internal($"volume {name}: {file} is not valid JSON");
        }
        if (record is null)
        {
            return null;
        }
        record.Name = name;
        record.Mountpoint = DataDir(name);
        return record;
    }

    /// <summary>Docker's answer for a name that is not a volume.</summary>
    public VolumeRecord Get(string name) => Find(name) ?? throw SkiffException.NotFound($"get {name}: no such volume");

    /// <summary>Every volume, by name.</summary>
    public List<VolumeRecord> List()
    {
        var volumes = new List<VolumeRecord>();
        if (!Directory.Exists(Dir))
        {
            return volumes;
        }
        foreach (var dir in Directory.EnumerateDirectories(Dir))
        {
            if (Find(Path.GetFileName(dir)) is { } v)
            {
                volumes.Add(v);
            }
        }
        volumes.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return volumes;
    }

    /// <summary>Names of volumes in use, each with the containers using it.</summary>
    public Dictionary<string, List<string>> Usage()
    {
        var used = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (id, names) in _usage())
        {
            foreach (var n in names)
            {
                if (!used.TryGetValue(n, out var ids))
                {
                    used[n] = ids = [];
                }
                if (!ids.Contains(id))
                {
                    ids.Add(id);
                }
            }
        }
        return used;
    }

    /// <summary>
    /// docker volume rm: refused while a container uses the volume (force or not, as in
    /// Docker); force only makes a missing volume no error.
    /// </summary>
    public void Remove(string name, bool force)
    {
        string doomed;
        using (StoreLock.Acquire(LockPath))
        {
            if (Find(name) is null)
            {
                if (force)
                {
                    return;
                }
                throw SkiffException.NotFound($"get {name}: no such volume");
            }
            if (Usage().TryGetValue(name, out var ids))
            {
                throw new SkiffException(ErrorCategory.Conflict, $"remove {name}: volume is in use - [{string.Join(", ", ids)}]");
            }
            doomed = SetAside(name);
        }
        Destroy(name, doomed);
    }

    /// <summary>
    /// docker volume prune: every unused anonymous volume, or with all every unused volume;
    /// filter (label=…) narrows it further. Returns the names removed and the bytes freed.
    /// </summary>
    public (List<string> Deleted, long Reclaimed) Prune(bool all, Func<VolumeRecord, bool>? filter = null)
    {
        var deleted = new List<string>();
        var doomed = new List<string>();
        long reclaimed = 0;
        if (!Directory.Exists(Dir))
        {
            return (deleted, 0);
        }
        using (StoreLock.Acquire(LockPath))
        {
            var used = Usage();
            foreach (var v in List())
            {
                if (used.ContainsKey(v.Name) || (!all && !v.Anonymous) || (filter is not null && !filter(v)))
                {
                    continue;
                }
                reclaimed += Size(v.Name);
                doomed.Add(SetAside(v.Name));
                deleted.Add(v.Name);
            }
        }
        SkiffException? failed = null;
        for (int i = 0; i < doomed.Count; i++)
        {
            try
            {
                Destroy(deleted[i], doomed[i]);
            }
            catch (SkiffException e)
            {
                failed ??= e;
            }
        }
        if (failed is not null)
        {
            throw failed;
        }
        return (deleted, reclaimed);
    }

    /// <summary>Bytes in the volume's files, each hard-linked file once (Docker's directory.Size).</summary>
    public long Size(string name)
    {
        long total = 0;
        var seen = new HashSet<(ulong, ulong)>();
        var pending = new Stack<string>();
        pending.Push(DataDir(name));
        while (pending.Count > 0)
        {
            string dir = pending.Pop();
            IEnumerable<string> entries;
            try
            {
                entries = Directory.EnumerateFileSystemEntries(dir);
                foreach (var entry in entries)
                {
                    if (VolumeNative.Lstat(entry) is not { } st)
                    {
                        continue;
                    }
                    if (st.IsDirectory)
                    {
                        pending.Push(entry);
                    }
                    else if (st.Links <= 1 || seen.Add((st.Device, st.Inode)))
                    {
                        total += st.Size;
                    }
                }
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                // A directory the container made unreadable: its bytes go uncounted, not the prune.
            }
        }
        return total;
    }

    /// <summary>
    /// Removes a volume set aside; when that fails (files a user namespace would have to
    /// remove), what is left goes back under its name, so the volume is still there to see
    /// and to remove again rather than hidden under a dot name.
    /// </summary>
    private void Destroy(string name, string aside)
    {
        try
        {
            // The data first: if that fails, volume.json is still there for the volume to come back whole.
            _removeTree(Path.Combine(aside, "_data"));
            _removeTree(aside);
        }
        catch (Exception e) when (e is SkiffException or IOException or UnauthorizedAccessException)
        {
            using (StoreLock.Acquire(LockPath))
            {
                if (!Directory.Exists(VolumeDir(name)))
                {
                    Directory.Move(aside, VolumeDir(name));
                }
            }
            throw new SkiffException((e as SkiffException)?.Category ?? ErrorCategory.Internal, $"remove {name}: {e.Message}", e);
        }
    }

    private string SetAside(string name)
    {
        string aside = Path.Combine(Dir, TempNames.New(RemovedPrefix));
        Directory.Move(VolumeDir(name), aside);
        VolumeNative.SyncDirectory(Dir);
        return aside;
    }

    /// <summary>Half-made or half-removed volumes of skiff processes that died; under the lock.</summary>
    private void SweepLeftovers()
    {
        foreach (var dir in Directory.EnumerateDirectories(Dir))
        {
            string n = Path.GetFileName(dir);
            if (TempNames.IsStale(n, TmpPrefix) || TempNames.IsStale(n, RemovedPrefix))
            {
                TryRemove(dir);
            }
        }
    }

    private void TryRemove(string path)
    {
        try
        {
            _removeTree(path);
        }
        catch (Exception e) when (e is SkiffException or IOException or UnauthorizedAccessException)
        {
            // Left for the next sweep; a leftover under a dot name is never taken for a volume.
        }
    }

    private static void CheckDriver(string name, string driver)
    {
        if (driver != LocalDriver)
        {
            throw SkiffException.NotFound($"create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found");
        }
    }

    /// <summary>
    /// The local driver's options (type, device, o, size) mount a filesystem or set a quota,
    /// which skiff does not do: refused rather than silently ignored.
    /// </summary>
    private static void CheckOptions(IReadOnlyDictionary<string, string>? options)
    {
        foreach (var key in options?.Keys ?? [])
        {
            if (key is not ("type" or "device" or "o" or "size"))
            {
                throw SkiffException.Invalid($"invalid option key: \"{key}\"");
            }
            throw SkiffException.Invalid($"the local driver option \"{key}\" is not supported by skiff: its volumes are plain directories");
        }
    }
}
