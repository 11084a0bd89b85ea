using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;
using Skiff.Linux;
using Skiff.Runtime;

namespace Skiff.Cli.Commands;

/// <summary>
/// skiff run: create and start. `--rm` in the foreground is the hot path (no supervisor,
/// skiff itself waits); -d starts a supervisor and prints the id; otherwise a supervisor
/// runs the container and this process stays attached to it.
/// </summary>
public static class RunCommand
{
    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(ContainerFlags.RunTable, args);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]\n        skiff run [OPTIONS] --rootfs DIR COMMAND [ARG...]",
                "Create and run a new container from an image or a root filesystem directory", ContainerFlags.RunTable));
            return 0;
        }
        var pc = ContainerFlags.Parse(p, Environment.GetEnvironmentVariable);
        var config = pc.Config;
        if (config.Tty && config.OpenStdin && Interop.Libc.isatty(0) != 1)
        {
            throw SkiffException.Invalid("the input device is not a TTY: drop -t, or run skiff from a terminal");
        }
        var def = ContainerDefinitions.Define(context, pc);
        var store = ContainerTargets.Store(context);
        var (binary, root) = ContainerTargets.Self(context);

        if (pc.Detach)
        {
            ContainerCreation.Store(store, def);
            CreateCommand.WriteCidFile(pc.CidFile, def.Id);
            ContainerStart.Start(store, def.Id, binary, root);
            Console.Out.WriteLine(def.Id);
            return 0;
        }
        if (def.HostConfig.AutoRemove)
        {
            var ids = IdMappingResolver.ForCurrentUser();
            if (ids.Warning is not null)
            {
                Console.Error.WriteLine($"skiff: warning: {ids.Warning}");
            }
            CreateCommand.WriteCidFile(pc.CidFile, def.Id);
            int code = ForegroundContainer.Run(LinuxSyscalls.Instance, store, def, new LaunchMode
            {
                ParentDeathSignal = 9,
                TerminalSize = config.Tty ? TerminalSession.CurrentSize() : ((ushort)0, (ushort)0),
                CacheDir = Path.Combine(context.Paths.Root, "cache"),
            }, Networks.Setup);
            StartKeeper(ids.Mapping);
            return code;
        }
        ContainerCreation.Store(store, def);
        CreateCommand.WriteCidFile(pc.CidFile, def.Id);
        return AttachedRun.StartAttached(store, def.Id, def, binary, root, config.OpenStdin, pc.SigProxy);
    }

    /// <summary>
    /// After a rootless run that had to map its own ids, leave a keeper behind so the next
    /// command joins it instead (after the container, so it never delays one). Best effort:
    /// without a keeper skiff still works, only slower.
    /// </summary>
    private static void StartKeeper(IdMapping mapping)
    {
        if (mapping.Mode == IdMapMode.Host || mapping.Joined || Environment.GetEnvironmentVariable("SKIFF_NO_KEEPER") is not null)
        {
            return;
        }
        try
        {
            UserNamespaceKeeper.Start(LinuxSyscalls.Instance, mapping);
        }
        catch (SkiffException e)
        {
            Console.Error.WriteLine($"skiff: warning: could not start the user namespace keeper: {e.Message}");
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"skiff: warning: could not start the user namespace keeper: {e.Message}");
        }
    }
}
