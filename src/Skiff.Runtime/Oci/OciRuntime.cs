using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Skiff.Linux;
using Skiff.Oci;
using Skiff.Oci.Seccomp;
using Skiff.Runtime.Cgroups;
using Process = Skiff.Oci.Process;

namespace Skiff.Runtime.Oci;

public sealed record CreateOptions
{
    public string? PidFile { get; init; }
    public string? ConsoleSocket { get; init; }
    public uint PreserveFds { get; init; }
}

public sealed record ExecOptions
{
    public string? PidFile { get; init; }
    public string? ConsoleSocket { get; init; }
    public bool Detach { get; init; }
    public uint PreserveFds { get; init; }
}

/// <summary>
/// The OCI runtime: the lifecycle of runtime-spec containers (create, start, state, kill,
/// delete) plus runc's run, exec, list, ps, pause, resume and update. State lives in
/// ROOT/ID; the container process outlives every skiff-runc invocation and is checked,
/// not trusted (pid and start time).
/// </summary>
public sealed class OciRuntime(ISyscalls sys, ContainerStore store, bool rootless, Action<string> warn,
    Func<string?, string, bool, ICgroup>? cgroups = null)
{
    private readonly Func<string?, string, bool, ICgroup> _cgroups = cgroups ?? CgroupFactory.For;

    /// <summary>Compiles linux.seccomp into a BPF program; wired by the CLI.</summary>
    public static Func<LinuxSeccomp, SeccompProgram>? SeccompCompiler { get; set; }

    private const int SIGKILL = 9;

    // ---- create / start -------------------------------------------------------------

    public void Create(string id, string bundle, CreateOptions options)
    {
        CreateContainer(id, SpecLoader.Load(bundle), options, -1, 0, out var child);
        Close(child!); // the container outlives this process; its parent becomes our caller's subreaper
    }

    /// <summary>Creates the container; the child is left running (blocked before exec) and returned for run.</summary>
    private ContainerRecord CreateContainer(string id, SpecLoader.Loaded loaded, CreateOptions options, int ownConsoleFd, int pdeathsig, out LaunchedChild? launched)
    {
        launched = null;
        if (loaded.Warning is not null)
        {
            warn(loaded.Warning);
        }
        store.Claim(id);
        var record = new ContainerRecord
        {
            Id = id,
            Bundle = loaded.Bundle,
            Rootfs = loaded.RootFs,
            Created = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture),
            Owner = Environment.UserName,
            Annotations = loaded.Spec.Annotations,
            CgroupsPathSpec = loaded.Spec.Linux?.CgroupsPath,
            Rootless = rootless,
        };
        store.Save(record);
        if (loaded.Json is { } config)
        {
            store.SaveConfig(id, config);
        }
        ICgroup? cgroup = null;
        LaunchedChild? child = null;
        var fds = new List<int>();
        Socket? console = null;
        try
        {
            var spec = loaded.Spec;
            string fifo = store.Fifo(id);
            if (Interop.Libc.mkfifo(fifo, 0x180) < 0)
            {
                throw new SystemCallException($"mkfifo {fifo}", Marshal.GetLastPInvokeError());
            }
            int fifoFd = OpenOrThrow(fifo, 2 /* O_RDWR */);
            fds.Add(fifoFd);

            int consoleFd = ownConsoleFd;
            if (spec.Process!.Terminal && consoleFd < 0)
            {
                console = ConnectConsole(options.ConsoleSocket);
                consoleFd = (int)console.SafeHandle.DangerousGetHandle();
            }

            var joins = OpenJoins(spec, fds);
            cgroup = _cgroups(spec.Linux?.CgroupsPath, id, rootless);
            cgroup.Create(spec.Linux?.Resources);
            record.CgroupPath = cgroup.Path;
            int cgroupFd = cgroup.OpenForClone();
            if (cgroupFd >= 0)
            {
                fds.Add(cgroupFd);
            }

            var newNs = OciLowering.NewNamespaces(spec);
            bool newUser = newNs.HasFlag(CloneFlags.NewUser);
            if (Interop.Libc.geteuid() != 0 && !newUser && !joins.Any(j => j.Item1 == CloneFlags.NewUser))
            {
                throw SkiffException.Invalid("linux.namespaces: a rootless container needs a user namespace (skiff-runc spec --rootless writes one)");
            }

            // Root of whatever user namespace we are in (the host's, or Podman's) writes maps itself.
            bool unprivilegedMaps = newUser && Interop.Libc.geteuid() != 0;
            var seccomp = Compile(spec.Linux?.Seccomp, warnUnusedListener: true);
            var listener = ListenerPair(seccomp, fds);
            var ctx = new OciLaunchContext
            {
                Rootless = rootless || newUser,
                StartFifoFd = fifoFd,
                ConsoleFd = consoleFd,
                Joins = joins,
                SetGroupsDenied = unprivilegedMaps && (spec.Linux?.GidMappings?.Count ?? 0) <= 1,
                Seccomp = seccomp is null ? null : (seccomp.Filter, seccomp.Flags),
                SeccompListenerFd = listener.Child,
                ParentDeathSignal = pdeathsig,
                CgroupFd = cgroupFd,
                PreserveFds = options.PreserveFds,
            };
            var plan = OciLowering.LowerCreate(loaded, ctx);
            child = sys.Launch(plan);
            try
            {
                if (newUser)
                {
                    WriteMaps(child.Pid, spec.Linux!, unprivilegedMaps);
                }
                if (cgroupFd < 0)
                {
                    cgroup.AddProcess(child.Pid);
                }
            }
            catch
            {
                sys.Release(child, go: false);
                throw;
            }
            if (plan.SendsState || plan.KeepSync)
            {
                byte[]? json = null;
                if (plan.SendsState)
                {
                    json = StateJson(record, child.Pid, "creating");
                    if (json.Length > 65536)
                    {
                        sys.Release(child, go: false);
                        throw SkiffException.Invalid("hooks: the container's state is over 64 KiB (annotations?): too large to hand to createContainer/startContainer hooks");
                    }
                }
                sys.ReleaseWithState(child, json, keepOpen: plan.KeepSync);
            }
            else
            {
                sys.Release(child, go: true);
            }
            int pid = AwaitCreated(child, plan, () =>
            {
                var creating = JsonState(record, child.Pid, "creating");
                HookRunner.Run("prestart", spec.Hooks?.Prestart, creating);
                HookRunner.Run("createRuntime", spec.Hooks?.CreateRuntime, creating);
                sys.Release(child, go: true);
            }, pid => ForwardListener(spec.Linux!.Seccomp!, listener.Parent, pid, ProcessState(record, pid, "creating")));
            record.Pid = pid;
            record.StartTime = ProcessInfo.Read(pid)?.StartTime ?? 0;
            store.Save(record);
            if (options.PidFile is { } pidFile)
            {
                WritePidFile(pidFile, pid);
            }
            launched = child;
            child = null;
            return record;
        }
        catch
        {
            if (child is not null)
            {
                sys.Signal(child, SIGKILL);
                sys.Wait(child);
            }
            else if (record.Pid > 0)
            {
                Interop.Libc.kill(record.Pid, SIGKILL);
            }
            try
            {
                cgroup?.Destroy();
            }
            catch (SkiffException)
            {
            }
            catch (IOException)
            {
            }
            store.Remove(id);
            throw;
        }
        finally
        {
            fds.ForEach(sys.Close);
            console?.Dispose();
            if (child is not null)
            {
                Close(child);
            }
        }
    }

    private int OpenOrThrow(string path, int flags)
    {
        int fd = Interop.Libc.open(path, flags | Interop.Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw new SystemCallException($"open {path}", Marshal.GetLastPInvokeError());
        }
        return fd;
    }

    private static Socket ConnectConsole(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            throw SkiffException.Invalid("process.terminal is true: --console-socket is required (a unix socket to receive the pty master)");
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw SkiffException.Unavailable($"connect to console socket {path}: {e.Message}");
        }
    }

    /// <summary>Namespaces given by path, opened now; the user namespace is joined first.</summary>
    private List<(CloneFlags, int)> OpenJoins(RuntimeSpec spec, List<int> fds)
    {
        var joins = new List<(CloneFlags, int)>();
        foreach (var ns in (spec.Linux?.Namespaces ?? []).OrderBy(n => n.Type == "user" ? 0 : n.Type == "mount" ? 2 : 1))
        {
            if (string.IsNullOrEmpty(ns.Path))
            {
                continue;
            }
            int fd = Interop.Libc.open(ns.Path, Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC);
            if (fd < 0)
            {
                throw new SystemCallException($"open {ns.Type} namespace {ns.Path}", Marshal.GetLastPInvokeError(), ErrorCategory.NotFound);
            }
            fds.Add(fd);
            joins.Add((OciLowering.NamespaceFlag(ns.Type)!.Value, fd));
        }
        return joins;
    }

    private SeccompProgram? Compile(LinuxSeccomp? seccomp, bool warnUnusedListener)
    {
        if (seccomp is null)
        {
            return null;
        }
        var compile = SeccompCompiler ?? throw SkiffException.Unavailable("linux.seccomp: this build of skiff-runc cannot compile seccomp filters");
        bool hasPath = !string.IsNullOrEmpty(seccomp.ListenerPath);
        if (!hasPath && !string.IsNullOrEmpty(seccomp.ListenerMetadata))
        {
            throw SkiffException.Invalid("linux.seccomp.listenerMetadata: set without a listenerPath (the metadata is for the agent listening there)");
        }
        var program = compile(seccomp);
        if (program.NeedsListener && !hasPath)
        {
            throw SkiffException.Invalid("linux.seccomp: seccomp listenerPath is not set: a SCMP_ACT_NOTIFY rule needs a seccomp agent listening on a unix socket");
        }
        if (program.NeedsListener && !seccomp.ListenerPath!.StartsWith('/'))
        {
            throw SkiffException.Invalid($"linux.seccomp.listenerPath: \"{seccomp.ListenerPath}\" must be an absolute path");
        }
        if (!program.NeedsListener && hasPath && warnUnusedListener)
        {
            // The spec says ignored, and runc runs such a container; say so rather than stay silent.
            warn($"linux.seccomp.listenerPath {seccomp.ListenerPath} is ignored: no syscall rule is SCMP_ACT_NOTIFY");
        }
        return program;
    }

    /// <summary>A socket pair the child sends the seccomp listener back over, when the filter notifies.</summary>
    private (int Parent, int Child) ListenerPair(SeccompProgram? seccomp, List<int> fds)
    {
        if (seccomp?.NeedsListener != true)
        {
            return (-1, -1);
        }
        var pair = sys.SocketPair();
        fds.Add(pair.Parent);
        fds.Add(pair.Child);
        return pair;
    }

    /// <summary>
    /// The child loaded its filter and sent the listener: hand it to the agent at listenerPath
    /// with the container process state, now, since the child may already wait in a notified
    /// syscall. Our copy is closed after.
    /// </summary>
    private void ForwardListener(LinuxSeccomp seccomp, int socket, int pid, ContainerState state)
    {
        if (socket < 0)
        {
            throw SkiffException.Internal("the container process sent a seccomp listener nobody asked for");
        }
        int listener = sys.ReceiveFd(socket);
        try
        {
            var message = new ContainerProcessState
            {
                OciVersion = "1.2.0", Fds = ["seccompFd"], Pid = pid, Metadata = seccomp.ListenerMetadata, State = state,
            };
            byte[] json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(message, OciJson.Default.ContainerProcessState);
            string path = seccomp.ListenerPath!;
            int agent;
            try
            {
                agent = sys.ConnectUnix(path);
            }
            catch (SystemCallException e)
            {
                // runc's words, which tools match on
                throw SkiffException.Unavailable($"failed to connect with seccomp agent specified in the seccomp profile: {path}: {Errno.Describe(e.Code)}");
            }
            try
            {
                sys.SendFd(agent, json, listener);
            }
            catch (SystemCallException e)
            {
                throw SkiffException.Unavailable($"send the seccomp listener to the agent at {path}: {Errno.Describe(e.Code)}");
            }
            finally
            {
                sys.Close(agent);
            }
        }
        finally
        {
            sys.Close(listener);
        }
    }

    /// <summary>The state an agent gets: the runtime-spec fields only.</summary>
    private static ContainerState ProcessState(ContainerRecord record, int pid, string status) => new()
    {
        OciVersion = "1.2.0", Id = record.Id, Status = status, Pid = pid, Bundle = record.Bundle, Annotations = record.Annotations,
    };

    private void WriteMaps(int pid, LinuxSpec linux, bool unprivileged)
    {
        var uids = (linux.UidMappings ?? []).Select(m => new IdRange(m.ContainerId, m.HostId, m.Size)).ToArray();
        var gids = (linux.GidMappings ?? []).Select(m => new IdRange(m.ContainerId, m.HostId, m.Size)).ToArray();
        if (uids.Length == 0 || gids.Length == 0)
        {
            throw SkiffException.Invalid("linux.uidMappings and linux.gidMappings are required with a new user namespace");
        }
        if (!unprivileged)
        {
            sys.WriteFile($"/proc/{pid}/uid_map", string.Concat(uids.Select(r => r + "\n")));
            sys.WriteFile($"/proc/{pid}/gid_map", string.Concat(gids.Select(r => r + "\n")));
            return;
        }
        // An unprivileged user maps itself directly, anything more through newuidmap.
        var mode = uids.Length == 1 && uids[0].Size == 1 && gids.Length == 1 && gids[0].Size == 1 ? IdMapMode.Single : IdMapMode.Subordinate;
        IdMapWriter.Apply(sys, pid, new IdMapping(mode, uids, gids));
    }

    private ContainerState JsonState(ContainerRecord record, int pid, string status)
    {
        var state = StateOf(record);
        state.Pid = pid;
        state.Status = status;
        return state;
    }

    private byte[] StateJson(ContainerRecord record, int pid, string status) =>
        ContainerStateJson.ToUtf8(JsonState(record, pid, status));

    /// <summary>
    /// Reads the child's reports until "created": its pid (a joined pid namespace forks once),
    /// the sync point where the runtime's hooks run, its seccomp listener, or its failure.
    /// </summary>
    private int AwaitCreated(LaunchedChild child, LaunchPlan plan, Action onSync, Action<int> onListener)
    {
        int pid = child.Pid;
        while (true)
        {
            var report = sys.ReadReport(child);
            if (report is null)
            {
                throw SkiffException.Internal("the container process exited before it was created");
            }
            var r = report.Value;
            if (r.OpIndex == Interop.Shim.ReportPid)
            {
                pid = (int)r.Step;
                continue;
            }
            if (r.OpIndex == Interop.Shim.ReportSync)
            {
                onSync();
                continue;
            }
            if (r.OpIndex == Interop.Shim.ReportSeccomp)
            {
                onListener(pid);
                continue;
            }
            if (r.OpIndex == Interop.Shim.ReportCreated)
            {
                return pid;
            }
            throw ChildFailureMessage.ToException(r, plan);
        }
    }

    private void Close(LaunchedChild child)
    {
        sys.Close(child.SyncFd);
        sys.Close(child.ErrFd);
        sys.Close(child.PidFd);
        child.SyncFd = child.ErrFd = child.PidFd = -1;
    }

    private static void WritePidFile(string path, int pid)
    {
        SmallFile.Replace(Path.GetFullPath(path), System.Text.Encoding.ASCII.GetBytes(pid.ToString(CultureInfo.InvariantCulture)));
    }

    public void Start(string id) => Start(store.Load(id), spec: null);

    /// <summary>Starts a created container; <paramref name="spec"/> is its config when the caller has it (run), else read for the hooks.</summary>
    private void Start(ContainerRecord record, RuntimeSpec? spec)
    {
        string id = record.Id;
        string status = Status(record);
        if (status != "created")
        {
            throw new SkiffException(ErrorCategory.Conflict, $"cannot start a container that is {status}: {id}");
        }
        string fifo = store.Fifo(id);
        int fd = Interop.Libc.open(fifo, 1 /* O_WRONLY */ | 0x800 /* O_NONBLOCK */ | Interop.Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw new SkiffException(ErrorCategory.Conflict, $"cannot start container {id}: its process is not waiting (it exited)");
        }
        unsafe
        {
            byte b = (byte)'0';
            int rc = Interop.Libc.WriteAll(fd, &b, 1);
            Interop.Libc.close(fd);
            SystemCallException.Check(rc, $"write {fifo}");
        }
        File.Delete(fifo);
        record.Started = true;
        store.Save(record);
        spec ??= TryLoadSpec(record);
        try
        {
            if (spec?.Hooks?.Poststart is { Count: > 0 } poststart)
            {
                HookRunner.Run("poststart", poststart, StateOf(record));
            }
        }
        catch (SkiffException e)
        {
            warn(e.Message); // the container runs; as runc, a failing poststart hook is reported, not fatal
        }
    }

    // ---- state ----------------------------------------------------------------------------

    public string Status(ContainerRecord record)
    {
        if (record.Pid == 0)
        {
            return "creating";
        }
        if (!ProcessInfo.IsAlive(record.Pid, record.StartTime))
        {
            return "stopped";
        }
        if (File.Exists(store.Fifo(record.Id)))
        {
            return "created";
        }
        return CgroupOf(record).IsFrozen() ? "paused" : "running";
    }

    public ContainerState StateOf(ContainerRecord record)
    {
        string status = Status(record);
        return new ContainerState
        {
            OciVersion = "1.2.0",
            Id = record.Id,
            Status = status,
            Pid = status == "stopped" ? 0 : record.Pid,
            Bundle = record.Bundle,
            Rootfs = record.Rootfs,
            Created = record.Created,
            Owner = record.Owner,
            Annotations = record.Annotations,
        };
    }

    public ContainerState State(string id) => StateOf(store.Load(id));

    public IReadOnlyList<ContainerState> List() =>
        store.Ids().Where(store.HasState).Select(id =>
        {
            try
            {
                return StateOf(store.Load(id));
            }
            catch (SkiffException)
            {
                return null;
            }
        }).OfType<ContainerState>().ToList();

    private ICgroup CgroupOf(ContainerRecord record)
    {
        try
        {
            return _cgroups(record.CgroupsPathSpec, record.Id, record.Rootless);
        }
        catch (IOException)
        {
            return new NoCgroup("the host's cgroups cannot be read");
        }
    }

    private RuntimeSpec? TryLoadSpec(ContainerRecord record)
    {
        try
        {
            return Spec(record);
        }
        catch (SkiffException)
        {
            return null;
        }
    }

    /// <summary>
    /// The container's spec as create read it (kept beside its state, as runc keeps it), so that
    /// a bundle changed or removed since does not change what exec, start and delete do.
    /// Containers created before it was kept fall back to the bundle's config.json.
    /// </summary>
    public RuntimeSpec Spec(string id) => Spec(store.Load(id));

    private RuntimeSpec Spec(ContainerRecord record)
    {
        string saved = store.ConfigFile(record.Id);
        byte[] json;
        try
        {
            json = File.ReadAllBytes(saved);
        }
        catch (FileNotFoundException)
        {
            return SpecLoader.Load(record.Bundle).Spec;
        }
        return SpecLoader.Parse(json, saved);
    }

    // ---- kill / delete ----------------------------------------------------------------------

    public void Kill(string id, int signal, bool all)
    {
        var record = store.Load(id);
        string status = Status(record);
        if (status is "stopped" or "creating")
        {
            throw new SkiffException(ErrorCategory.Conflict, $"container not running: {id}");
        }
        if (all)
        {
            var pids = CgroupOf(record).Processes();
            foreach (var pid in pids.Count > 0 ? pids : [record.Pid])
            {
                Interop.Libc.kill(pid, signal);
            }
            return;
        }
        SignalRecorded(record, signal);
    }

    private static void SignalRecorded(ContainerRecord record, int signal)
    {
        // Only the process we recorded: the start time check guards against a reused pid.
        if (!ProcessInfo.IsAlive(record.Pid, record.StartTime))
        {
            throw new SkiffException(ErrorCategory.Conflict, $"container not running: {record.Id}");
        }
        if (Interop.Libc.kill(record.Pid, signal) < 0)
        {
            int err = Marshal.GetLastPInvokeError();
            if (err != Errno.ESRCH)
            {
                throw new SystemCallException($"kill {record.Pid}", err);
            }
        }
    }

    public void Delete(string id, bool force) => Delete(id, force, spec: null);

    /// <summary>Deletes; <paramref name="spec"/> is the container's config when the caller has it (run), else read for the poststop hooks.</summary>
    private void Delete(string id, bool force, RuntimeSpec? spec)
    {
        ContainerStore.CheckId(id);
        if (!Directory.Exists(store.Dir(id)))
        {
            if (force)
            {
                return; // as runc: forcing the delete of what is gone succeeds
            }
            throw SkiffException.NotFound($"container does not exist: {id}");
        }
        if (!store.HasState(id))
        {
            store.Remove(id); // a create that crashed before writing its state
            return;
        }
        var record = store.Load(id);
        string status = Status(record);
        var cgroup = CgroupOf(record);
        switch (status)
        {
            case "stopped" or "creating":
                break;
            case "created":
                KillAndWait(record, cgroup);
                break;
            default:
                if (!force)
                {
                    throw new SkiffException(ErrorCategory.Conflict,
                        $"cannot delete container {id} that is not stopped: {status} (use delete --force)");
                }
                if (status == "paused")
                {
                    cgroup.Freeze(false);
                }
                KillAndWait(record, cgroup);
                break;
        }
        spec ??= TryLoadSpec(record);
        try
        {
            if (spec?.Hooks?.Poststop is { Count: > 0 } poststop)
            {
                HookRunner.Run("poststop", poststop, StateOf(record));
            }
        }
        catch (SkiffException e)
        {
            warn(e.Message);
        }
        cgroup.Destroy();
        store.Remove(id);
    }

    private static void KillAndWait(ContainerRecord record, ICgroup cgroup)
    {
        foreach (var pid in cgroup.Processes())
        {
            Interop.Libc.kill(pid, SIGKILL);
        }
        if (ProcessInfo.IsAlive(record.Pid, record.StartTime))
        {
            Interop.Libc.kill(record.Pid, SIGKILL);
        }
        // Not our child: poll until it is gone or a zombie its parent has yet to reap.
        for (int i = 0; i < 1000 && ProcessInfo.IsAlive(record.Pid, record.StartTime); i++)
        {
            Thread.Sleep(5);
        }
    }

    // ---- run ---------------------------------------------------------------------------------

    /// <summary>runc run: create and start; in the foreground wait, forward signals, delete, return the exit code.</summary>
    public int Run(string id, string bundle, CreateOptions options, bool detach, bool keep)
    {
        var loaded = SpecLoader.Load(bundle);
        var spec = loaded.Spec;
        bool ownTerminal = spec.Process?.Terminal == true && options.ConsoleSocket is null && !detach;
        (int Parent, int Child) pair = ownTerminal ? sys.SocketPair() : (-1, -1);
        LaunchedChild? child = null;
        try
        {
            var record = CreateContainer(id, loaded, options, pair.Child, detach ? 0 : SIGKILL, out child);
            sys.Close(pair.Child);
            pair.Child = -1;
            if (!detach && record.Pid != child!.Pid)
            {
                // A joined pid namespace: the child forked the container (CLONE_PARENT, so it is
                // ours too) and exited. Reap it and wait on, and forward signals to, the container.
                sys.Wait(child);
                sys.Close(child.PidFd);
                child.PidFd = -1;
                child.PidFd = sys.OpenPidFd(record.Pid);
            }
            using var session = ownTerminal ? new TerminalSession(sys.ReceiveFd(pair.Parent), forwardInput: true) : null;
            Start(record, spec);
            if (detach)
            {
                return 0;
            }
            int code = sys.WaitForwarding(child!, session?.Master ?? -1);
            if (!keep)
            {
                Delete(id, force: true, spec);
            }
            return code;
        }
        finally
        {
            sys.Close(pair.Parent);
            sys.Close(pair.Child);
            if (child is not null)
            {
                Close(child);
            }
        }
    }

    // ---- exec --------------------------------------------------------------------------------

    public int Exec(string id, Process process, ExecOptions options)
    {
        var record = store.Load(id);
        string status = Status(record);
        if (status is not ("running" or "created"))
        {
            throw new SkiffException(ErrorCategory.Conflict, $"cannot exec in a {status} container: {id}");
        }
        if (process.Args is not { Count: > 0 })
        {
            throw SkiffException.Invalid("exec: process.args: at least the command is required");
        }
        if (!process.Cwd.StartsWith('/'))
        {
            throw SkiffException.Invalid($"exec: process.cwd: \"{process.Cwd}\" must be an absolute path");
        }
        var spec = TryLoadSpec(record);
        var fds = new List<int>();
        Socket? console = null;
        bool ownTerminal = process.Terminal && options.ConsoleSocket is null && !options.Detach;
        (int Parent, int Child) pair = ownTerminal ? sys.SocketPair() : (-1, -1);
        LaunchedChild? child = null;
        try
        {
            var joins = NamespaceJoins.Open(record.Pid, fds);
            int consoleFd = pair.Child;
            if (process.Terminal && consoleFd < 0)
            {
                console = ConnectConsole(options.ConsoleSocket);
                consoleFd = (int)console.SafeHandle.DangerousGetHandle();
            }
            string setgroups = ProcFile.TryReadAllText($"/proc/{record.Pid}/setgroups")?.Trim() ?? "allow";
            var seccomp = Compile(spec?.Linux?.Seccomp, warnUnusedListener: false);
            var listener = ListenerPair(seccomp, fds);
            var ctx = new OciLaunchContext
            {
                Rootless = rootless,
                ConsoleFd = consoleFd,
                Joins = joins,
                SetGroupsDenied = setgroups == "deny",
                Seccomp = seccomp is null ? null : (seccomp.Filter, seccomp.Flags),
                SeccompListenerFd = listener.Child,
                ParentDeathSignal = options.Detach ? 0 : SIGKILL,
                PreserveFds = options.PreserveFds,
            };
            var plan = OciLowering.LowerExec(process, spec?.Linux, ctx);
            child = sys.Launch(plan);
            sys.Close(pair.Child);
            pair.Child = -1;
            sys.Release(child, go: true);

            int pid = child.Pid;
            LaunchedChild? process1 = null;
            while (sys.ReadReport(child) is { } r)
            {
                if (r.OpIndex == Interop.Shim.ReportPid)
                {
                    pid = (int)r.Step;
                    CgroupOf(record).AddProcess(pid);
                    continue;
                }
                if (r.OpIndex == Interop.Shim.ReportSeccomp)
                {
                    try
                    {
                        ForwardListener(spec!.Linux!.Seccomp!, listener.Parent, pid, ProcessState(record, record.Pid, "running"));
                        continue;
                    }
                    catch (SkiffException)
                    {
                        sys.Signal(child, SIGKILL);
                        sys.Wait(child);
                        throw;
                    }
                }
                sys.Wait(child);
                throw ChildFailureMessage.ToException(r, plan);
            }
            if (pid != child.Pid)
            {
                sys.Wait(child); // the middle process of the fork into the pid namespace
                int pidfd = PidFdOpen(pid);
                process1 = new LaunchedChild(pid, pidfd, -1, -1);
            }
            if (options.PidFile is { } pidFile)
            {
                WritePidFile(pidFile, pid);
            }
            if (options.Detach)
            {
                return 0;
            }
            using var session = ownTerminal ? new TerminalSession(sys.ReceiveFd(pair.Parent), forwardInput: true) : null;
            int code = sys.WaitForwarding(process1 ?? child, session?.Master ?? -1);
            if (process1 is not null)
            {
                sys.Close(process1.PidFd);
            }
            return code;
        }
        finally
        {
            fds.ForEach(sys.Close);
            console?.Dispose();
            sys.Close(pair.Parent);
            sys.Close(pair.Child);
            if (child is not null)
            {
                Close(child);
            }
        }
    }

    private static int PidFdOpen(int pid)
    {
        int fd = Interop.Libc.pidfd_open(pid, 0);
        if (fd < 0)
        {
            throw new SystemCallException($"pidfd_open {pid}", Marshal.GetLastPInvokeError());
        }
        return fd;
    }

    // ---- ps / pause / resume / update -------------------------------------------------------

    public IReadOnlyList<int> Pids(string id)
    {
        var record = store.Load(id);
        if (Status(record) == "stopped")
        {
            return [];
        }
        var pids = CgroupOf(record).Processes();
        if (pids.Count > 0)
        {
            return pids;
        }
        // No cgroup: every process in the container's pid namespace.
        var target = new FileInfo($"/proc/{record.Pid}/ns/pid").LinkTarget;
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                try
                {
                    if (new FileInfo($"{dir}/ns/pid").LinkTarget == target)
                    {
                        result.Add(pid);
                    }
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
        return result;
    }

    public void Pause(string id, bool pause)
    {
        var record = store.Load(id);
        string status = Status(record);
        if (pause ? status != "running" : status != "paused")
        {
            throw new SkiffException(ErrorCategory.Conflict, $"container {id} is {status}, not {(pause ? "running" : "paused")}");
        }
        CgroupOf(record).Freeze(pause);
    }

    public void Update(string id, Resources resources)
    {
        var record = store.Load(id);
        if (Status(record) == "stopped")
        {
            throw new SkiffException(ErrorCategory.Conflict, $"container {id} is stopped");
        }
        CgroupOf(record).Update(resources);
    }
}
