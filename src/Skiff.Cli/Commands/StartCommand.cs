using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>skiff start: created or stopped containers start under a supervisor; -a stays attached.</summary>
public static class StartCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("attach", 'a', "Attach STDOUT/STDERR and forward signals"),
        FlagSpec.Bool("interactive", 'i', "Attach container's STDIN"),
        FlagSpec.Value("detach-keys", FlagSpec.NoShort, "string", "Override the key sequence for detaching a container"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", Flags));
            return 0;
        }
        if (p.Positionals.Count == 0)
        {
            throw new UsageException("\"skiff start\" requires at least 1 argument");
        }
        var store = ContainerTargets.Store(context);
        var (binary, root) = ContainerTargets.Self(context);
        bool attach = p.Bool("attach") || p.Bool("interactive");
        if (attach)
        {
            if (p.Positionals.Count > 1)
            {
                throw new UsageException("you cannot start and attach multiple containers at once");
            }
            string id = store.Resolve(p.Positionals[0]);
            var def = store.Load(id);
            if (store.State(id).Running)
            {
                return AttachedRun.Attach(store, id, def, p.Bool("interactive") && def.Config.OpenStdin, sigProxy: true);
            }
            return AttachedRun.StartAttached(store, id, def, binary, root, p.Bool("interactive") && def.Config.OpenStdin, sigProxy: true);
        }
        return ContainerTargets.ForEach(p.Positionals, reference =>
            ContainerStart.Start(store, store.Resolve(reference), binary, root));
    }
}
