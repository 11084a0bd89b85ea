using System.Text.Json;
using Skiff.Engine.Volumes;
using Skiff.Images;
using Skiff.Linux;
using Skiff.Runtime;

namespace Skiff.Engine.Containers;

/// <summary>How cp reaches a container's files; tests swap the program that holds a stopped container's mount.</summary>
public sealed record ContainerFilesystemOptions
{
    public ISyscalls Sys { get; init; } = LinuxSyscalls.Instance;

    /// <summary>
    /// The program the mount holder execs and parks in (it is killed as soon as the mount is
    /// opened): skiff itself under the keeper's name, whose C constructor parks before .NET starts.
    /// </summary>
    public string? HolderFile { get; init; }
    public IReadOnlyList<string>? HolderArgv { get; init; }
}

/// <summary>
/// A container's root filesystem as cp sees it, open as a RootedTree.
/// Running: /proc/PID/root of its main process, the container's own view with its volumes.
/// Stopped: the same overlay (its layers, upper and work) mounted in a private mount
/// namespace by a short-lived child, with its binds and volumes; skiff keeps an fd on that
/// mount and on the namespace, kills the child at once, and holds the container's lock so
/// that nothing starts the container (and mounts the same upper) meanwhile.
/// </summary>
public sealed class ContainerFilesystem : IDisposable
{
    private StoreLock? _lock;
    private int _mountNamespace = -1;

    private ContainerFilesystem(string id, string reference, ContainerDefinition definition, IReadOnlyList<MountPoint> mounts, bool running,
        RootedTree tree, StoreLock? held, int mountNamespace)
    {
        Mounts = mounts;
        Id = id;
        Reference = reference;
        Definition = definition;
        Running = running;
        Tree = tree;
        _lock = held;
        _mountNamespace = mountNamespace;
    }

    public string Id { get; }
    /// <summary>The container as the user named it, for Docker's messages.</summary>
    public string Reference { get; }
    public ContainerDefinition Definition { get; }
    public bool Running { get; }
    public RootedTree Tree { get; }
    /// <summary>The container's binds and volumes.</summary>
    public IReadOnlyList<MountPoint> Mounts { get; }

    /// <summary>
    /// Owners as the container sees them, for archives: rootless without the keeper skiff
    /// sees the host's ids, which the container's mapping turns back into its own.
    /// </summary>
    public TreeArchive.OwnerMap? Owners { get; private init; }

    public static ContainerFilesystem Open(ContainerStore store, string reference, ContainerFilesystemOptions? options = null)
    {
        options ??= new ContainerFilesystemOptions();
        string id = store.Resolve(reference);
        var def = store.Load(id);
        var mounts = LoadMounts(store, def);
        // A dead supervisor is noticed (under the lock State takes itself) before ours is taken.
        store.State(id);
        var held = store.Lock(id);
        try
        {
            var state = StateFile.Read(store.Dir(id).Path);
            var owners = ContainerOwners(IdMappingResolver.ForCurrentUser().Mapping);
            if (state.Running)
            {
                // Its supervisor lives but its process does not: it is between two runs, and
                // mounting its upper layer now could meet the restart's own mount.
                var tree = OpenRunning(id, state)
                    ?? throw new SkiffException(ErrorCategory.Conflict, $"Container {id} is restarting, wait until the container is running");
                held.Dispose();
                return new ContainerFilesystem(id, reference, def, mounts, running: true, tree, null, -1) { Owners = owners };
            }
            var (mounted, ns) = MountStopped(store, def, mounts, options);
            return new ContainerFilesystem(id, reference, def, mounts, running: false, mounted, held, ns) { Owners = owners };
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    private static TreeArchive.OwnerMap? ContainerOwners(IdMapping mapping)
    {
        if (mapping.Mode == IdMapMode.Host || mapping.Joined)
        {
            return null;
        }
        return (uid, gid) => (FromHost(mapping.Uids, uid), FromHost(mapping.Gids, gid));
    }

    private static uint FromHost(IdRange[] ranges, uint hostId)
    {
        foreach (var r in ranges)
        {
            if (hostId >= r.HostId && hostId - r.HostId < r.Size)
            {
                return r.ContainerId + (hostId - r.HostId);
            }
        }
        return 65534; // the kernel's overflow id: not mapped in the container
    }

    /// <summary>/proc/PID/root, checked after opening to be the recorded process still (not a reused pid); null when it is gone.</summary>
    private static RootedTree? OpenRunning(string id, ContainerState state)
    {
        if (!ContainerStore.ProcessAlive(state.Pid, state.PidStart))
        {
            return null;
        }
        string path = $"/proc/{state.Pid}/root";
        int fd = CopyNative.OpenAt(CopyNative.AT_FDCWD, path, CopyNative.O_PATH | CopyNative.O_DIRECTORY);
        if (fd < 0)
        {
            if (!ContainerStore.ProcessAlive(state.Pid, state.PidStart))
            {
                return null;
            }
            throw new SystemCallException($"open {path} (the root of container {id})", -fd);
        }
        if (!ContainerStore.ProcessAlive(state.Pid, state.PidStart))
        {
            CopyNative.Close(fd);
            return null;
        }
        return new RootedTree(fd, $"container {id}");
    }

    private static (RootedTree, int) MountStopped(ContainerStore store, ContainerDefinition def, IReadOnlyList<MountPoint> mounts,
        ContainerFilesystemOptions options)
    {
        var dir = store.Dir(def.Id);
        var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        // A container that never ran has no upper layer yet; the run path makes the same ones.
        Directory.CreateDirectory(dir.Upper, owner | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        Directory.CreateDirectory(dir.Work, owner);
        Directory.CreateDirectory(dir.RootFs, owner);

        var mapping = IdMappingResolver.ForCurrentUser().Mapping;
        bool rootless = mapping.Mode != IdMapMode.Host;
        // An overlay once mounted "volatile" (a --rm container) refuses any other kind until its work dir is reset.
        bool isVolatile = Directory.Exists(Path.Combine(dir.Work, "work", "incompat", "volatile"));
        try
        {
            return Hold(options, HolderPlan(def, dir, mapping, mounts, rootless, isVolatile), mapping, dir);
        }
        catch (MountFailedException e) when (!isVolatile && e.Failure.Step == ChildStep.FsConfig && e.Failure.Errno == Errno.EINVAL)
        {
            return Hold(options, HolderPlan(def, dir, mapping, mounts, rootless, isVolatile: true), mapping, dir);
        }
    }

    /// <summary>Binds and volumes as the container was created with them (DIR/mounts.json); tmpfs mounts hold nothing to copy.</summary>
    private static List<MountPoint> LoadMounts(ContainerStore store, ContainerDefinition def)
    {
        string path = Path.Combine(store.Dir(def.Id).Path, "mounts.json");
        try
        {
            var all = JsonSerializer.Deserialize(File.ReadAllBytes(path), VolumeJson.Default.ListMountPoint) ?? [];
            return all.Where(m => m.Type is "bind" or "volume" && m.Source.Length > 0 && m.Destination.StartsWith('/')).ToList();
        }
        catch (FileNotFoundException)
        {
            return [];
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
        catch (JsonException e)
        {
            throw SkiffException.Internal($"{path}: {e.Message}");
        }
    }

    private static LaunchPlan HolderPlan(ContainerDefinition def, ContainerDirectory dir, IdMapping mapping, IReadOnlyList<MountPoint> mounts,
        bool rootless, bool isVolatile)
    {
        bool newUser = rootless && !mapping.Joined;
        var plan = new LaunchPlan
        {
            CloneFlags = CloneFlags.NewNs | (newUser ? CloneFlags.NewUser : CloneFlags.None),
            WaitForParent = newUser,
            ParentDeathSignal = 9,
        };
        plan.Ops.Add(LaunchOp.MakePrivate("/"));
        var flags = (rootless ? LaunchOpFlags.UserXattr : LaunchOpFlags.None) | (isVolatile ? LaunchOpFlags.Volatile : LaunchOpFlags.None);
        plan.Ops.Add(LaunchOp.Overlay(def.Layers, dir.Upper, dir.Work, dir.RootFs, flags));
        plan.Ops.Add(LaunchOp.Root(dir.RootFs));
        foreach (var m in mounts)
        {
            bool isDir = Directory.Exists(m.Source);
            if (!isDir && !File.Exists(m.Source))
            {
                continue; // what the container cannot have either
            }
            // The run path makes the same mount points when the container starts.
            plan.Ops.Add(isDir ? LaunchOp.MkdirP(m.Destination, (UnixFileMode)0x1ED) : LaunchOp.MkFileP(m.Destination));
            plan.Ops.Add(LaunchOp.Bind(m.Source, m.Destination, m.RW ? MountAttr.None : MountAttr.ReadOnly, recursive: true));
        }
        return plan;
    }

    private sealed class MountFailedException(ChildFailure failure, SkiffException inner)
        : SkiffException(inner.Category, inner.Message, inner)
    {
        public ChildFailure Failure { get; } = failure;
    }

    /// <summary>Launches the holder, opens its mount and mount namespace, and kills it.</summary>
    private static (RootedTree, int) Hold(ContainerFilesystemOptions options, LaunchPlan plan, IdMapping mapping, ContainerDirectory dir)
    {
        var sys = options.Sys;
        string file = options.HolderFile ?? "/proc/self/exe";
        var argv = options.HolderArgv ?? [Interop.Shim.KeeperArgv0];
        plan.Ops.Add(LaunchOp.Exec(argv, [], null, file));
        var child = sys.Launch(plan);
        try
        {
            var failure = ChildStart.MapAndGo(sys, child, mapping);
            if (failure is { } f)
            {
                child = null; // reaped by MapAndGo
                throw new MountFailedException(f, ChildFailureMessage.ToException(f, plan));
            }
            int ns = -1, root = -1;
            try
            {
                ns = Open($"/proc/{child.Pid}/ns/mnt", CopyNative.O_RDONLY);
                root = Open($"/proc/{child.Pid}/root{dir.RootFs}", CopyNative.O_PATH | CopyNative.O_DIRECTORY);
                return (new RootedTree(root, $"container {Path.GetFileName(dir.Path)}"), ns);
            }
            catch
            {
                CopyNative.Close(ns);
                CopyNative.Close(root);
                throw;
            }
        }
        finally
        {
            if (child is not null)
            {
                try
                {
                    sys.Signal(child, 9);
                }
                catch (SkiffException)
                {
                    // gone already
                }
                try
                {
                    sys.Wait(child);
                }
                catch (SkiffException)
                {
                }
                sys.Close(child.SyncFd);
                sys.Close(child.ErrFd);
                sys.Close(child.PidFd);
            }
        }
    }

    private static int Open(string path, int flags)
    {
        int fd = CopyNative.OpenAt(CopyNative.AT_FDCWD, path, flags);
        return fd >= 0 ? fd : throw new SystemCallException($"open {path}", -fd);
    }

    public void Dispose()
    {
        Tree.Dispose();
        CopyNative.Close(_mountNamespace);
        _mountNamespace = -1;
        _lock?.Dispose();
        _lock = null;
    }
}
