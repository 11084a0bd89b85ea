using System.Runtime.InteropServices;
using Skiff.Engine.Seccomp;
using Skiff.Linux;
using Skiff.Runtime;
using Skiff.Runtime.Oci;

namespace Skiff.Engine.Containers;

/// <summary>What `exec` runs: Docker's ExecConfig.</summary>
public sealed record ExecRequest
{
    public required IReadOnlyList<string> Cmd { get; init; }
    public IReadOnlyList<string> Env { get; init; } = [];
    public string? User { get; init; }
    public string? WorkingDir { get; init; }
    public bool Tty { get; init; }
    public bool Interactive { get; init; }
    public bool Detach { get; init; }
    public bool Privileged { get; init; }
}

/// <summary>
/// `exec`: a process in a running container's namespaces, with the container's
/// capabilities, seccomp profile, cgroup and environment; the exit code is the process's.
/// </summary>
public static class ContainerExec
{
    public static int Run(ISyscalls sys, ContainerStore store, string id, ExecRequest r, string? cacheDir)
    {
        if (r.Cmd.Count == 0 || r.Cmd[0].Length == 0)
        {
            throw SkiffException.Invalid("No exec command specified");
        }
        var def = store.Load(id);
        var state = store.State(id);
        if (state.Status == "paused")
        {
            throw new SkiffException(ErrorCategory.Conflict, $"container {id} is paused, unpause the container before exec");
        }
        if (state.Status != "running" || !ContainerStore.ProcessAlive(state.Pid, state.PidStart))
        {
            throw new SkiffException(ErrorCategory.Conflict, $"container {id} is not running");
        }
        var mapping = IdMappingResolver.ForCurrentUser().Mapping;
        var user = ContainerUser.Resolve(r.User ?? def.Config.User, def.Passwd, def.Group, mapping);
        var spec = SpecBuilder.Build(def, new SpecContext { Dir = store.Dir(id), Mapping = mapping, User = user, CacheDir = cacheDir });
        var process = spec.Process!;
        string workdir = r.WorkingDir is { Length: > 0 } w ? w : process.Cwd;
        if (!workdir.StartsWith('/'))
        {
            throw SkiffException.Invalid($"the working directory '{workdir}' is invalid, it needs to be an absolute path");
        }
        process.Args = [.. r.Cmd];
        process.Cwd = workdir;
        process.Terminal = r.Tty;
        // The terminal starts at the size of ours (skiff's stdin); later changes follow as SIGWINCH.
        var (rows, cols) = r.Tty ? TerminalSession.CurrentSize() : ((ushort)0, (ushort)0);
        process.ConsoleSize = rows > 0 && cols > 0 ? new Skiff.Oci.ConsoleSize { Height = rows, Width = cols } : null;
        process.Env = LaunchPlanLowering.Environment(new ContainerSpec
        {
            Id = def.Id, Layers = def.Layers, Args = r.Cmd, Env = [.. def.Config.Env ?? [], .. r.Env], Tty = r.Tty,
        }, user, spec.Hostname ?? SkiffPaths.ShortId(def.Id));
        if (r.Privileged)
        {
            var all = ContainerCapabilities.Names(ContainerCapabilities.Resolve(true, null, null));
            process.Capabilities = user.Uid == 0
                ? new Skiff.Oci.Capabilities { Bounding = all, Effective = all, Permitted = all }
                : new Skiff.Oci.Capabilities { Bounding = all };
        }

        var fds = new List<int>();
        (int Parent, int Child) pty = r.Tty ? sys.SocketPair() : (-1, -1);
        LaunchedChild? child = null;
        try
        {
            var joins = NamespaceJoins.Open(state.Pid, fds);
            var seccomp = spec.Linux?.Seccomp is { } profile && !r.Privileged ? new SeccompCache(cacheDir).Compile(profile) : null;
            var ctx = new OciLaunchContext
            {
                Rootless = mapping.Mode != IdMapMode.Host,
                ConsoleFd = pty.Child,
                Joins = joins,
                SetGroupsDenied = !mapping.AllowsSetGroups,
                Seccomp = seccomp is null ? null : (seccomp.Filter, seccomp.Flags),
                ParentDeathSignal = r.Detach ? 0 : 9,
            };
            var plan = OciLowering.LowerExec(process, spec.Linux, ctx);
            if (!r.Tty && !r.Interactive)
            {
                plan.Ops.Insert(0, LaunchOp.StdinNull());
            }
            if (r.Detach)
            {
                plan.Ops.Insert(0, LaunchOp.Detach());
            }
            if (r.Tty && !r.Detach)
            {
                // A SIGWINCH before the wait below would go to the default action (ignored) and
                // leave the terminal at its old size: held from here, and the size copied once the
                // terminal is ours.
                sys.HoldSignals(true);
            }
            child = sys.Launch(plan);
            sys.Close(pty.Child);
            pty.Child = -1;
            sys.Release(child, go: true);

            int pid = child.Pid;
            LaunchedChild? target = null;
            while (sys.ReadReport(child) is { } report)
            {
                if (report.OpIndex == Interop.Shim.ReportPid)
                {
                    pid = (int)report.Step;
                    try
                    {
                        ContainerCgroup.For(def, ctx.Rootless).AddProcess(pid);
                    }
                    catch (SkiffException)
                    {
                        // A container without a cgroup: nothing to join.
                    }
                    continue;
                }
                sys.Wait(child);
                throw ChildFailureMessage.ToException(report, plan);
            }
            if (pid != child.Pid)
            {
                sys.Wait(child); // the middle process of the fork into the pid namespace
                int pidfd = Interop.Libc.pidfd_open(pid, 0);
                if (pidfd < 0)
                {
                    if (r.Detach)
                    {
                        return 0;
                    }
                    throw new SystemCallException($"pidfd_open {pid}", Marshal.GetLastPInvokeError());
                }
                target = new LaunchedChild(pid, pidfd, -1, -1);
            }
            if (r.Detach)
            {
                if (target is not null)
                {
                    sys.Close(target.PidFd);
                }
                return 0;
            }
            using var session = r.Tty ? new TerminalSession(sys.ReceiveFd(pty.Parent), forwardInput: r.Interactive) : null;
            if (session is not null && TerminalSession.CurrentSize() is ( > 0, > 0) and var (rows2, cols2))
            {
                Interop.Shim.TtySetSize(session.Master, rows2, cols2);
            }
            int code = sys.WaitForwarding(target ?? child, session?.Master ?? -1);
            if (target is not null)
            {
                sys.Close(target.PidFd);
            }
            return code;
        }
        finally
        {
            if (r.Tty && !r.Detach)
            {
                sys.HoldSignals(false);
            }
            fds.ForEach(sys.Close);
            sys.Close(pty.Parent);
            sys.Close(pty.Child);
            if (child is not null)
            {
                sys.Close(child.SyncFd);
                sys.Close(child.ErrFd);
                sys.Close(child.PidFd);
            }
        }
    }
}
