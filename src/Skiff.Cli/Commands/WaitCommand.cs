using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>skiff wait: blocks until each container stops and prints its exit code, one per line.</summary>
public static class WaitCommand
{
    private const string Usage = "skiff wait CONTAINER [CONTAINER...]";

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
            Console.Out.Write(HelpText.For(Usage, "Block until one or more containers stop, then print their exit codes", Flags));
            return 0;
        }
        ContainerVerb.AtLeast(p, 1, "skiff wait", Usage);
        var store = ContainerTargets.Store(context);
        var errors = new List<string>();
        foreach (var reference in p.Positionals)
        {
            try
            {
                string id = store.Resolve(reference);
                int code = ContainerWait.WaitAsync(store, id, WaitCondition.NotRunning).GetAwaiter().GetResult();
                Console.Out.WriteLine(code);
            }
            catch (SkiffException e) when (e is not UsageException)
            {
                errors.Add(ContainerVerb.DaemonError + e.Message);
            }
        }
        if (errors.Count > 0)
        {
            // Docker reports the failures together, after the codes it could print.
            Console.Error.WriteLine(string.Join('\n', errors));
            return 1;
        }
        return 0;
    }
}
