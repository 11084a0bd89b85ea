using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>skiff kill: a signal (SIGKILL by default) to each container's main process.</summary>
public static class KillCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Value("signal", 's', "string", "Signal to send to the container (default \"KILL\")"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", Flags));
            return 0;
        }
        if (p.Positionals.Count == 0)
        {
            throw new UsageException("\"skiff kill\" requires at least 1 argument");
        }
        int signal = Skiff.Linux.Signals.Parse(p.Value("signal") ?? "KILL");
        var store = ContainerTargets.Store(context);
        return ContainerTargets.ForEach(p.Positionals, reference => ContainerSignals.Signal(store, store.Resolve(reference), signal));
    }
}
