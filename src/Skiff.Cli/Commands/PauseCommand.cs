using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>skiff pause / skiff unpause CONTAINER...: freeze or thaw every process of each container.</summary>
public static class PauseCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Pause(CliContext context, string[] args) => Execute(context, args, "pause",
        "Pause all processes within one or more containers", ContainerPause.Pause);

    public static int Unpause(CliContext context, string[] args) => Execute(context, args, "unpause",
        "Unpause all processes within one or more containers", ContainerPause.Unpause);

    private static int Execute(CliContext context, string[] args, string verb, string description, Action<ContainerStore, string> act)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For($"skiff {verb} CONTAINER [CONTAINER...]", description, Flags));
            return 0;
        }
        if (p.Positionals.Count == 0)
        {
            return CliErrors.Usage(verb, $"\"skiff {verb}\" requires at least 1 argument");
        }
        var store = ContainerTargets.Store(context);
        return ContainerTargets.ForEach(p.Positionals, reference => act(store, reference));
    }
}
