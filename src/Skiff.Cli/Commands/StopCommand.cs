using System.Globalization;
using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>skiff stop / restart: the stop signal, then SIGKILL after the timeout.</summary>
public static class StopCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Value("signal", 's', "string", "Signal to send to the container"),
        FlagSpec.Value("time", 't', "int", "Seconds to wait before killing the container"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args, bool restart)
    {
        string verb = restart ? "restart" : "stop";
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For($"skiff {verb} [OPTIONS] CONTAINER [CONTAINER...]",
                restart ? "Restart one or more containers" : "Stop one or more running containers", Flags));
            return 0;
        }
        if (p.Positionals.Count == 0)
        {
            throw new UsageException($"\"skiff {verb}\" requires at least 1 argument");
        }
        int? timeout = p.Value("time") is { } t
            ? int.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n) ? n
              : throw new UsageException($"invalid argument \"{t}\" for \"-t, --time\" flag: strconv.ParseInt: parsing \"{t}\": invalid syntax")
            : null;
        int? signal = p.Value("signal") is { } s ? Skiff.Linux.Signals.Parse(s) : null;
        var store = ContainerTargets.Store(context);
        var (binary, root) = ContainerTargets.Self(context);
        return ContainerTargets.ForEach(p.Positionals, reference =>
        {
            string id = store.Resolve(reference);
            ContainerLifecycle.Stop(store, id, signal, timeout);
            if (restart)
            {
                ContainerStart.Start(store, id, binary, root);
            }
        });
    }
}
