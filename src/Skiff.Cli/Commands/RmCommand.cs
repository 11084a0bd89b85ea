using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>skiff rm: removes containers (-f stops a running one first, -v takes its anonymous volumes).</summary>
public static class RmCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("force", 'f', "Force the removal of a running container (uses SIGKILL)"),
        FlagSpec.Bool("volumes", 'v', "Remove anonymous volumes associated with the container"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", Flags));
            return 0;
        }
        if (p.Positionals.Count == 0)
        {
            throw new UsageException("\"skiff rm\" requires at least 1 argument");
        }
        var store = ContainerTargets.Store(context);
        return ContainerTargets.ForEach(p.Positionals, reference =>
            ContainerLifecycle.Remove(store, store.Resolve(reference), p.Bool("force"), p.Bool("volumes")));
    }
}
