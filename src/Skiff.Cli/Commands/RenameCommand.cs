using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>skiff rename CONTAINER NEW_NAME.</summary>
public static class RenameCommand
{
    private const string Usage = "skiff rename CONTAINER NEW_NAME";

    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args) => ContainerVerb.Guard(() => Run(context, args));

    private static int Run(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For(Usage, "Rename a container", Flags));
            return 0;
        }
        ContainerVerb.Exactly(p, 2, "skiff rename", Usage);
        ContainerRename.Rename(ContainerTargets.Store(context), p.Positionals[0], p.Positionals[1]);
        return 0;
    }
}
