using Skiff.Cli.CommandLine;
using Skiff.Cli.Commands;

namespace Skiff.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        // One binary, several faces: argv[0] picks one (ARCHITECTURE.md).
        string face = Path.GetFileName(Environment.GetCommandLineArgs()[0]);
        if (face == "skiff-runc")
        {
            return Runc.RuncCommand.Execute(args);
        }
        return Skiff(args);
    }

    private static readonly FlagSpec[] GlobalFlags =
    [
        FlagSpec.Value("root", FlagSpec.NoShort, "DIR", "storage root (default: $XDG_DATA_HOME/skiff, /var/lib/skiff as root; or SKIFF_ROOT)"),
        FlagSpec.Bool("version", 'v', "print the version and exit"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "print this help"),
    ];

    private static int Skiff(string[] args)
    {
        string verb = "";
        try
        {
            var global = FlagParser.Parse(GlobalFlags, args);
            if (global.Bool("version"))
            {
                return VersionCommand.Short();
            }
            if (global.Positionals.Count == 0 || global.Bool("help"))
            {
                Console.Out.Write(Usage());
                return global.Bool("help") ? 0 : 125;
            }
            verb = global.Positionals[0];
            var rest = global.Positionals.Skip(1).ToArray();
            var context = new CliContext(global.Value("root"));
            return verb switch
            {
                "run" => RunCommand.Execute(context, rest),
                "create" => CreateCommand.Execute(context, rest),
                "start" => StartCommand.Execute(context, rest),
                "stop" => StopCommand.Execute(context, rest, restart: false),
                "restart" => StopCommand.Execute(context, rest, restart: true),
                "kill" => KillCommand.Execute(context, rest),
                "rm" => RmCommand.Execute(context, rest),
                "exec" => ExecCommand.Execute(context, rest),
                "attach" => AttachCommand.Execute(context, rest),
                "ps" => PsCommand.Execute(context, rest),
                "inspect" => InspectCommand.Execute(context, rest),
                "logs" => LogsCommand.Execute(context, rest),
                "wait" => WaitCommand.Execute(context, rest),
                "rename" => RenameCommand.Execute(context, rest),
                "top" => TopCommand.Execute(context, rest),
                "cp" => CpCommand.Execute(context, rest),
                "pause" => PauseCommand.Pause(context, rest),
                "unpause" => PauseCommand.Unpause(context, rest),
                "stats" => StatsCommand.Execute(context, rest),
                "container" => ContainerCommand.Execute(context, rest),
                "volume" => VolumeCommand.Execute(context, rest),
                "serve" => ServeCommand.Execute(context, rest),
                "__launch" => WorkerCommand.Execute(context, rest),
                "__net-test" => global::Skiff.Runtime.Network.NetworkProbe.Execute(rest),
                "images" => ImageVerb.Guard(() => ImagesCommand.Execute(context, rest)),
                "image" => ImageVerb.Guard(() => ImageCommand.Execute(context, rest)),
                "import" => ImageVerb.Guard(() => ImportCommand.Execute(context, rest)),
                "rmi" => ImageVerb.Guard(() => RmiCommand.Execute(context, rest)),
                "history" => ImageVerb.Guard(() => HistoryCommand.Execute(context, rest)),
                "tag" => ImageVerb.Guard(() => TagCommand.Execute(context, rest)),
                "save" => ImageVerb.Guard(() => SaveCommand.Execute(context, rest)),
                "load" => ImageVerb.Guard(() => LoadCommand.Execute(context, rest)),
                "pull" => ImageVerb.Guard(() => PullCommand.Execute(context, rest)),
                "push" => ImageVerb.Guard(() => PushCommand.Execute(context, rest)),
                "login" => ImageVerb.Guard(() => LoginCommand.Login(rest)),
                "logout" => ImageVerb.Guard(() => LoginCommand.Logout(rest)),
                "version" => VersionCommand.Execute(rest),
                "info" => InfoCommand.Execute(context, rest),
                "help" => Help(rest),
                _ => throw new UsageException($"unknown command \"{verb}\" for \"skiff\""),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"skiff: {e.Message}");
            Console.Error.WriteLine(verb.Length == 0 ? "See 'skiff --help'." : $"See 'skiff {verb} --help'.");
            return 125;
        }
        catch (SkiffException e)
        {
            Console.Error.WriteLine($"skiff: {e.Message}");
            return ExitCode(e.Category);
        }
    }

    /// <summary>Docker's exit codes: 125 for skiff's own failures, 126 cannot invoke, 127 not found.</summary>
    public static int ExitCode(ErrorCategory category) => category switch
    {
        ErrorCategory.CannotInvoke => 126,
        ErrorCategory.CommandNotFound => 127,
        _ => 125,
    };

    private static int Help(string[] rest)
    {
        if (rest.Length > 0)
        {
            return Skiff([rest[0], "--help"]);
        }
        Console.Out.Write(Usage());
        return 0;
    }

    private static string Usage() => """
        Usage:  skiff [OPTIONS] COMMAND

        A rootless container engine in one binary.

        Options:
              --root DIR   storage root (default: $XDG_DATA_HOME/skiff; /var/lib/skiff as root)
          -v, --version    print the version and exit

        Commands:
          run       Run a command in a new container
          create    Create a new container
          start     Start one or more stopped containers
          stop      Stop one or more running containers
          restart   Restart one or more containers
          kill      Kill one or more running containers
          rm        Remove one or more containers
          exec      Execute a command in a running container
          attach    Attach local standard input, output, and error streams to a running container
          ps        List containers
          inspect   Return low-level information on containers and images
          logs      Fetch the logs of a container
          wait      Block until one or more containers stop, then print their exit codes
          rename    Rename a container
          top       Display the running processes of a container
          cp        Copy files/folders between a container and the local filesystem
          pause     Pause all processes within one or more containers
          unpause   Unpause all processes within one or more containers
          stats     Display resource usage statistics of containers
          container Manage containers
          volume    Manage volumes
          serve     Serve the Docker Engine API on a unix socket
          images    List images
          image     Manage images (ls, inspect, history, prune, rm, tag, import, save, load)
          history   Show the history of an image
          import    Import a root filesystem tarball or directory as an image
          rmi       Remove one or more images
          tag       Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
          save      Save images to a Docker or OCI archive
          load      Load images from a Docker or OCI archive
          pull      Download an image from a registry
          push      Upload an image to a registry
          login     Log in to a registry
          logout    Log out of a registry
          info      Show the host, the id mapping and the kernel features skiff relies on
          version   Show the version

        Run 'skiff COMMAND --help' for more information on a command.

        """;
}
