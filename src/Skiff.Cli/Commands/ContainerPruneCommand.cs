using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>skiff container prune: removes every stopped container (Docker's prompt unless -f).</summary>
public static class ContainerPruneCommand
{
    private const string Usage = "skiff container prune [OPTIONS]";

    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.List("filter", FlagSpec.NoShort, "filter", "Provide filter values (e.g. \"until=<timestamp>\")"),
        FlagSpec.Bool("force", 'f', "Do not prompt for confirmation"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args) => ContainerVerb.Guard(() => Run(context, args));

    private static int Run(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For(Usage, "Remove all stopped containers", Flags));
            return 0;
        }
        ContainerVerb.None(p, "skiff container prune", Usage);
        var filters = ContainerVerb.Filters(p, "--filter");
        if (!p.Bool("force") && !Confirm())
        {
            return 0;
        }
        var store = ContainerTargets.Store(context);
        var (deleted, reclaimed) = ContainerPrune.Prune(store, filters,
            id => ContainerLifecycle.Remove(store, id, force: false, removeVolumes: false));
        var output = Console.Out;
        if (deleted.Count > 0)
        {
            output.WriteLine("Deleted Containers:");
            foreach (var id in deleted)
            {
                output.WriteLine(id);
            }
            output.WriteLine();
        }
        output.WriteLine("Total reclaimed space: " + ImageFormat.Size(reclaimed));
        return 0;
    }

    /// <summary>Docker's prompt; no answer (end of input) is no.</summary>
    private static bool Confirm()
    {
        Console.Out.Write("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ");
        Console.Out.Flush();
        string? answer = Console.In.ReadLine();
        if (answer is null)
        {
            Console.Out.WriteLine();
            return false;
        }
        return answer.Trim() is "y" or "Y" or "yes" or "Yes" or "YES";
    }
}
