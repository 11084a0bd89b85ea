using Skiff.Cli.CommandLine;

namespace Skiff.Cli.Commands;

/// <summary>skiff attach: the running container's output (and stdin when it keeps one open) here.</summary>
public static class AttachCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("no-stdin", FlagSpec.NoShort, "Do not attach STDIN"),
        FlagSpec.Bool("sig-proxy", FlagSpec.NoShort, "Proxy all received signals to the process (default true)"),
        FlagSpec.Value("detach-keys", FlagSpec.NoShort, "string", "Override the key sequence for detaching a container"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff attach [OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container", Flags));
            return 0;
        }
        if (p.Positionals.Count != 1)
        {
            throw new UsageException("\"skiff attach\" requires exactly 1 argument");
        }
        var store = ContainerTargets.Store(context);
        string id = store.Resolve(p.Positionals[0]);
        var def = store.Load(id);
        if (!store.State(id).Running)
        {
            throw new SkiffException(ErrorCategory.Conflict, "You cannot attach to a stopped container, start it first");
        }
        bool sigProxy = !p.Has("sig-proxy") || p.Bool("sig-proxy");
        return AttachedRun.Attach(store, id, def, def.Config.OpenStdin && !p.Bool("no-stdin"), sigProxy);
    }
}
