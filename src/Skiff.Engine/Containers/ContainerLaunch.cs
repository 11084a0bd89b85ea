using Skiff.Linux;
using Skiff.Runtime;
using Skiff.Runtime.Network;

namespace Skiff.Engine.Containers;

/// <summary>How a container is launched: who becomes its parent, and what it gets if that parent dies.</summary>
public sealed record LaunchMode
{
    /// <summary>The container becomes the caller's parent's child (the supervisor's, via the worker).</summary>
    public bool CloneParent { get; init; }
    /// <summary>Signal the container gets when its parent dies.</summary>
    public int ParentDeathSignal { get; init; } = 9;
    /// <summary>Keep the user namespace open after the launch (the foreground run removes its tree from inside it).</summary>
    public bool HoldUserNamespace { get; init; }
    /// <summary>Rows and columns of the terminal when Config.Tty (the foreground run's own).</summary>
    public (ushort Rows, ushort Cols) TerminalSize { get; init; }
    /// <summary>Where compiled seccomp programs are cached.</summary>
    public string? CacheDir { get; init; }
}

/// <summary>A container that reached execve, with what its parent must hold.</summary>
public sealed class LaunchedContainer(LaunchedChild child) : IDisposable
{
    public LaunchedChild Child { get; } = child;
    public int PtyMaster { get; set; } = -1;
    public int UserNamespace { get; set; } = -1;
    public NetworkAttachment? Network { get; set; }
    /// <summary>Fds to keep open for as long as the container lives (a network helper's exit fd).</summary>
    public List<int> HoldFds { get; } = [];
    public Runtime.Cgroups.ICgroup? Cgroup { get; set; }

    public void Dispose()
    {
        var sys = LinuxSyscalls.Instance;
        sys.Close(Child.SyncFd);
        sys.Close(Child.ErrFd);
    }
}

/// <summary>
/// start = definition → OCI spec → launch plan → clone → id maps → network → go.
/// One path for the foreground run, the supervisor's worker and every restart.
/// </summary>
public static class ContainerLaunch
{
    public static LaunchedContainer Launch(ISyscalls sys, ContainerDefinition def, ContainerDirectory dir, LaunchMode mode,
        INetworkSetup network)
    {
        var ids = IdMappingResolver.ForCurrentUser();
        var mapping = ids.Mapping;
        var user = ContainerUser.Resolve(def.Config.User, def.Passwd, def.Group, mapping);
        MakeDirectories(sys, dir);

        string networkMode = NetworkModes.Normalize(def.HostConfig.NetworkMode);
        bool rootless = mapping.Mode != IdMapMode.Host;
        string hostname = def.Config.Hostname.Length > 0 ? def.Config.Hostname
            : networkMode == "host" ? System.Net.Dns.GetHostName() : SkiffPaths.ShortId(def.Id);
        // Everything that can be refused is decided before anything starts: limits, ports, the spec.
        var cgroup = ContainerCgroup.For(def, rootless);
        var plan = networkMode == "private" ? network.Prepare(def.Name, NetworkModes.Ports(def.HostConfig), rootless) : null;
        EtcFiles.Write(dir, def, hostname, networkMode);
        var ctx = new SpecContext
        {
            Dir = dir,
            Mapping = mapping,
            User = user,
            Hostname = hostname,
            OwnNetwork = networkMode != "host",
            TerminalSize = mode.TerminalSize,
            CacheDir = mode.CacheDir,
            ParentDeathSignal = mode.ParentDeathSignal,
            ResolveVolume = name => throw SkiffException.Invalid($"volume {name} was not prepared at create"),
        };
        var spec = SpecBuilder.Build(def, ctx);

        (int Parent, int Child) pty = (-1, -1);
        LaunchedChild? child = null;
        NetworkAttachment? attachment = null;
        int userNs = -1;
        bool ok = false;
        try
        {
            cgroup.Create(spec.Linux?.Resources);
            if (def.Config.Tty)
            {
                pty = sys.SocketPair();
            }
            var built = SpecBuilder.Lower(spec, def, ctx with { ConsoleFd = pty.Child, CgroupFd = cgroup.OpenForClone() });
            // The supervisor's worker: the container becomes the supervisor's child, not ours.
            built.CloneParent = mode.CloneParent;
            child = sys.Launch(built);
            sys.Close(pty.Child);
            pty.Child = -1;
            var launched = child;
            var failure = ChildStart.MapAndGo(sys, child, mapping,
                prepare: () =>
                {
                    cgroup.AddProcess(launched.Pid);
                    if (mode.HoldUserNamespace && ctx.NewUserNamespace)
                    {
                        userNs = sys.OpenNamespace(launched.Pid, "user");
                    }
                },
                afterMaps: () =>
                {
                    if (plan is not null)
                    {
                        attachment = network.Attach(plan, launched.Pid);
                    }
                });
            if (failure is { } f)
            {
                throw ChildFailureMessage.ToException(f, built);
            }
            var result = new LaunchedContainer(child) { UserNamespace = userNs, Network = attachment, Cgroup = cgroup };
            if (attachment is not null)
            {
                result.HoldFds.AddRange(attachment.HoldFds);
            }
            if (def.Config.Tty)
            {
                result.PtyMaster = sys.ReceiveFd(pty.Parent);
            }
            ok = true;
            return result;
        }
        finally
        {
            sys.Close(pty.Parent);
            sys.Close(pty.Child);
            if (!ok)
            {
                attachment?.Dispose();
                sys.Close(userNs);
                if (child is not null)
                {
                    sys.Close(child.SyncFd);
                    sys.Close(child.ErrFd);
                    sys.Close(child.PidFd);
                }
                try
                {
                    cgroup.Destroy();
                }
                catch (SkiffException)
                {
                }
            }
        }
    }

    private static void MakeDirectories(ISyscalls sys, ContainerDirectory dir)
    {
        var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        sys.CreateDirectory(dir.Upper, owner | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        sys.CreateDirectory(dir.Work, owner);
        sys.CreateDirectory(dir.RootFs, owner);
    }
}
