using System.Text.Json;
using Skiff.Images;
using Skiff.Runtime;

namespace Skiff.Engine.Containers;

/// <summary>
/// The containers of one storage root: ROOT/containers/ID/config.json (the definition),
/// state.json (what the supervisor last wrote), and ROOT/names/NAME, a symlink to the id,
/// which claims a name atomically. Any number of skiff processes share it: a directory
/// appears whole (made under a temporary name and renamed in), a name is claimed by one
/// symlink(2), and state changes happen under the container's flock.
/// </summary>
public sealed class ContainerStore(SkiffPaths paths)
{
    private const string TempPrefix = ".tmp-";

    public string Root => paths.Containers;
    public SkiffPaths Paths => paths;
    public string NamesDir => Path.Combine(paths.Root, "names");

    public ContainerDirectory Dir(string id) => new(Path.Combine(Root, id));

    /// <summary>
    /// Claims the name and writes the definition and a "created" state. On any failure
    /// nothing is left: neither the name nor a directory.
    /// </summary>
    public void Create(ContainerDefinition def, Action<ContainerDirectory>? prepare = null)
    {
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(NamesDir);
        // The directory exists before the name is claimed: a name whose container directory
        // (or a live temporary one) is missing is stale, and another create may take it.
        string temp = Path.Combine(Root, TempNames.New(TempPrefix));
        Directory.CreateDirectory(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            ClaimName(def.Name, def.Id);
        }
        catch
        {
            TryRemoveTree(temp);
            throw;
        }
        try
        {
            var dir = new ContainerDirectory(temp);
            AtomicFile.WriteJson(Path.Combine(temp, "config.json"), def, ContainerJson.Default.ContainerDefinition);
            StateFile.Write(temp, ContainerState.Created());
            prepare?.Invoke(dir);
            Directory.Move(temp, Path.Combine(Root, def.Id));
        }
        catch
        {
            TryRemoveTree(temp);
            ReleaseName(def.Name, def.Id);
            throw;
        }
    }

    /// <summary>
    /// A --rm container of the foreground run: the same files, without fsync (it lives
    /// for one command; a crash leaves a directory that ps shows as exited and rm removes).
    /// </summary>
    public void CreateThrowaway(ContainerDefinition def)
    {
        Directory.CreateDirectory(NamesDir);
        string dir = Path.Combine(Root, def.Id);
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            ClaimName(def.Name, def.Id);
        }
        catch
        {
            TryRemoveTree(dir);
            throw;
        }
        try
        {
            if (def.ImageId.Length > 0)
            {
                SmallFile.WriteNew(Path.Combine(dir, ContainerUsage.FileName), System.Text.Encoding.UTF8.GetBytes(def.ImageId));
            }
            SmallFile.WriteNew(Path.Combine(dir, "state.json"), ContainerStateFile.ToJson(ContainerState.Created()));
            SmallFile.WriteNew(Path.Combine(dir, "config.json"), ContainerDefinitionWriter.ToUtf8(def));
        }
        catch
        {
            TryRemoveTree(dir);
            ReleaseName(def.Name, def.Id);
            throw;
        }
    }

    /// <summary>The foreground skiff is the one that waits: it stands in for the supervisor.</summary>
    public void RecordForeground(string id, int pid)
    {
        var state = new ContainerState { Status = "running", Pid = pid, SupervisorPid = Environment.ProcessId, StartedAt = ContainerState.Now() };
        state.PidStart = StartTime(pid);
        state.SupervisorStart = StartTime(Environment.ProcessId);
        SmallFile.Replace(Path.Combine(Root, id, "state.json"), ContainerStateFile.ToJson(state));
    }

    public void DeleteThrowaway(ContainerDefinition def, int userNamespaceFd)
    {
        string dir = Path.Combine(Root, def.Id);
        File.Delete(Path.Combine(dir, "config.json"));
        ReleaseName(def.Name, def.Id);
        Skiff.Linux.LinuxSyscalls.Instance.RemoveTree(dir, userNamespaceFd);
        ContainerLifecycle.RemoveAnonymousVolumes(this, def);
    }

    public static unsafe ulong StartTime(int pid)
    {
        ulong s;
        return Interop.Shim.ProcessStartTime(pid, &s) >= 0 ? s : 0;
    }

    /// <summary>Docker's "Conflict. The container name ... is already in use".</summary>
    public void ClaimName(string name, string id)
    {
        string link = Path.Combine(NamesDir, name);
        while (true)
        {
            try
            {
                File.CreateSymbolicLink(link, id);
                return;
            }
            catch (IOException) when (Path.Exists(link) || new FileInfo(link).LinkTarget is not null)
            {
                string? owner = new FileInfo(link).LinkTarget;
                // A name whose container directory is gone (a crash between claim and rename) is free again.
                if (owner is not null && !Directory.Exists(Path.Combine(Root, owner)) && !CreatingNow(owner))
                {
                    ReleaseName(name, owner);
                    continue;
                }
                throw new SkiffException(ErrorCategory.Conflict,
                    $"Conflict. The container name \"/{name}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name.");
            }
        }
    }

    /// <summary>A create that claimed the name may still be writing its temporary directory.</summary>
    private bool CreatingNow(string id)
    {
        foreach (var d in Directory.EnumerateDirectories(Root, TempPrefix + "*"))
        {
            if (!TempNames.IsStale(Path.GetFileName(d), TempPrefix))
            {
                return true;
            }
        }
        return false;
    }

    public void ReleaseName(string name, string id)
    {
        string link = Path.Combine(NamesDir, name);
        if (new FileInfo(link).LinkTarget == id)
        {
            File.Delete(link);
        }
    }

    public void Rename(string id, string oldName, string newName)
    {
        ClaimName(newName, id);
        try
        {
            using var _ = Lock(id);
            var def = Load(id);
            def.Name = newName;
            AtomicFile.WriteJson(Path.Combine(Root, id, "config.json"), def, ContainerJson.Default.ContainerDefinition);
        }
        catch
        {
            ReleaseName(newName, id);
            throw;
        }
        ReleaseName(oldName, id);
    }

    public StoreLock Lock(string id) => StoreLock.Acquire(Path.Combine(Root, id, "lock"));

    public ContainerDefinition Load(string id)
    {
        string path = Path.Combine(Root, id, "config.json");
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), ContainerJson.Default.ContainerDefinition)
                   ?? throw SkiffException.Internal($"{path}: empty");
        }
        catch (FileNotFoundException)
        {
            throw NoSuchContainer(id);
        }
        catch (DirectoryNotFoundException)
        {
            throw NoSuchContainer(id);
        }
        catch (JsonException e)
        {
            throw SkiffException.Internal($"{path}: {e.Message}");
        }
    }

    public static SkiffException NoSuchContainer(string reference) => SkiffException.NotFound($"No such container: {reference}");

    /// <summary>Docker's lookup: a full id, a name (with or without '/'), then a unique id prefix.</summary>
    public string Resolve(string reference)
    {
        string r = reference.StartsWith('/') ? reference[1..] : reference;
        if (r.Length == 0 || r.Contains('/') || r.StartsWith('.'))
        {
            throw NoSuchContainer(reference);
        }
        if (r.Length == 64 && File.Exists(Path.Combine(Root, r, "config.json")))
        {
            return r;
        }
        if (new FileInfo(Path.Combine(NamesDir, r)).LinkTarget is { } byName && Directory.Exists(Path.Combine(Root, byName)))
        {
            return byName;
        }
        string? found = null;
        if (Directory.Exists(Root) && r.All(char.IsAsciiHexDigitLower))
        {
            foreach (var d in Directory.EnumerateDirectories(Root, r + "*"))
            {
                string id = Path.GetFileName(d);
                if (id.Length != 64 || !File.Exists(Path.Combine(d, "config.json")))
                {
                    continue;
                }
                if (found is not null)
                {
                    throw SkiffException.Invalid($"multiple IDs found with provided prefix: {reference}");
                }
                found = id;
            }
        }
        return found ?? throw NoSuchContainer(reference);
    }

    /// <summary>Every container with a definition, oldest first.</summary>
    public List<ContainerDefinition> List()
    {
        var all = new List<ContainerDefinition>();
        if (!Directory.Exists(Root))
        {
            return all;
        }
        foreach (var d in Directory.EnumerateDirectories(Root))
        {
            string id = Path.GetFileName(d);
            if (id.StartsWith('.'))
            {
                if (TempNames.IsStale(id, TempPrefix))
                {
                    TryRemoveTree(d);
                }
                continue;
            }
            try
            {
                all.Add(Load(id));
            }
            catch (SkiffException)
            {
                // Removed meanwhile, or a foreground container without a record yet.
            }
        }
        all.Sort((a, b) => string.CompareOrdinal(a.Created, b.Created));
        return all;
    }

    /// <summary>The state as it truly is: a dead supervisor or process is detected and recorded, not trusted.</summary>
    public ContainerState State(string id)
    {
        string dir = Path.Combine(Root, id);
        var state = StateFile.Read(dir);
        if (state.Active && !ProcessAlive(state.SupervisorPid, state.SupervisorStart))
        {
            using var _ = Lock(id);
            state = StateFile.Read(dir);
            if (state.Active && !ProcessAlive(state.SupervisorPid, state.SupervisorStart))
            {
                bool containerAlive = ProcessAlive(state.Pid, state.PidStart);
                if (!containerAlive)
                {
                    state.Status = "exited";
                    state.Pid = 0;
                    state.ExitCode = state.ExitCode == 0 ? 137 : state.ExitCode;
                    state.FinishedAt = ContainerState.Now();
                    state.Error = "the container's supervisor died (killed?); the exit code is not known";
                    StateFile.Write(dir, state);
                }
            }
        }
        if (state.Status == "running" && File.Exists(Path.Combine(dir, ContainerPause.MarkerFile)))
        {
            state.Status = "paused";
        }
        return state;
    }

    /// <summary>Alive and not a zombie; a start time of 0 (not recorded) matches any.</summary>
    public static bool ProcessAlive(int pid, ulong start) =>
        ProcessLiveness.IsAlive(pid, start != 0 ? start : StartTime(pid));

    /// <summary>Removes the directory and releases the name; the caller has made sure nothing runs.</summary>
    public void Delete(string id, Action<string> removeTree)
    {
        var def = Load(id);
        string dir = Path.Combine(Root, id);
        // Renamed first, so that a half-removed container is never listed.
        string doomed = Path.Combine(Root, TempNames.New(TempPrefix));
        LeaveTombstone(id, dir);
        Directory.Move(dir, doomed);
        ReleaseName(def.Name, id);
        removeTree(doomed);
    }

    private const string TombstonePrefix = ".removed-";

    /// <summary>
    /// The last state of a container removed in the past minute: a waiter that looks a
    /// moment after an `rm` (a --rm container's supervisor removes it at once) still
    /// learns the exit code.
    /// </summary>
    public ContainerState? Tombstone(string id)
    {
        try
        {
            return ContainerStateFile.Parse(File.ReadAllBytes(Path.Combine(Root, TombstonePrefix + id)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SkiffException)
        {
            return null;
        }
    }

    private void LeaveTombstone(string id, string dir)
    {
        try
        {
            string tombstone = Path.Combine(Root, TombstonePrefix + id);
            string temp = $"{tombstone}.tmp-{Environment.ProcessId}";
            File.WriteAllBytes(temp, File.ReadAllBytes(Path.Combine(dir, "state.json")));
            File.Move(temp, tombstone, overwrite: true);
            foreach (var old in Directory.EnumerateFiles(Root, TombstonePrefix + "*"))
            {
                if (DateTime.UtcNow - File.GetLastWriteTimeUtc(old) > TimeSpan.FromMinutes(1))
                {
                    File.Delete(old);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a late waiter's comfort: never a reason to keep a container.
        }
    }

    private static void TryRemoveTree(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
