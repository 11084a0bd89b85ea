using Skiff.Engine.Containers;
using Skiff.Linux;
using Skiff.Runtime.Supervision;

namespace Skiff.Cli.Commands;

/// <summary>
/// `skiff __launch ID`: run by a supervisor (native/supervisor.c) for each start. It
/// launches the container with CLONE_PARENT, so the supervisor is its parent, reports the
/// pid (and the pty master, and fds to hold) on fd 3 and leaves. Its fds 1 and 2 are the
/// container's output pipes: nothing of its own may be written there.
/// </summary>
public static class WorkerCommand
{
    public static int Execute(CliContext context, string[] args)
    {
        if (args.Length != 1)
        {
            new WorkerChannel().ReportError(125, "usage: skiff __launch CONTAINER-ID");
            return 125;
        }
        try
        {
            var store = new ContainerStore(context.Paths);
            var def = store.Load(args[0]);
            using var launched = ContainerLaunch.Launch(LinuxSyscalls.Instance, def, store.Dir(def.Id), new LaunchMode
            {
                CloneParent = true,
                ParentDeathSignal = 9,
                CacheDir = Path.Combine(context.Paths.Root, "cache"),
            }, Networks.Setup);
            new WorkerChannel().ReportPid(launched.Child.Pid, launched.PtyMaster, launched.HoldFds);
            // The supervisor holds the network helper's fds now: leaving must not end the helper.
            launched.Network?.Detach();
            return 0;
        }
        catch (SkiffException e)
        {
            new WorkerChannel().ReportError(Program.ExitCode(e.Category), e.Message);
            return 125;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            new WorkerChannel().ReportError(125, e.Message);
            return 125;
        }
    }
}
