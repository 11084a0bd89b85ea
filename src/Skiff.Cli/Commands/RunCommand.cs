using Skiff.Cli.CommandLine;
using Skiff.Linux;
using Skiff.Runtime;

namespace Skiff.Cli.Commands;

/// <summary>skiff run: a command in a new container, in the foreground.</summary>
public static class RunCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("rm", FlagSpec.NoShort, "Automatically remove the container when it exits"),
        FlagSpec.Bool("interactive", 'i', "Keep STDIN open"),
        FlagSpec.Bool("tty", 't', "Allocate a pseudo-TTY"),
        FlagSpec.List("env", 'e', "list", "Set environment variables (KEY=VALUE, or KEY to pass skiff's own)"),
        FlagSpec.Value("workdir", 'w', "string", "Working directory inside the container (absolute)"),
        FlagSpec.Value("user", 'u', "string", "Username or UID (format: <name|uid>[:<group|gid>])"),
        FlagSpec.Value("hostname", 'h', "string", "Container host name"),
        FlagSpec.Value("network", FlagSpec.NoShort, "string", "Network mode: none (default) or host"),
        FlagSpec.Value("rootfs", FlagSpec.NoShort, "DIR", "Run from this root filesystem directory (never modified)"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff run [OPTIONS] --rootfs DIR COMMAND [ARG...]",
                "Create and run a new container from a root filesystem directory", Flags));
            return 0;
        }
        string rootfs = p.Value("rootfs") ?? throw new UsageException("\"skiff run\" requires --rootfs DIR (a root filesystem directory)");
        if (p.Positionals.Count == 0)
        {
            throw new UsageException("\"skiff run\" requires a command to run in the container");
        }
        rootfs = RootFilesystem.Validate(rootfs);
        var env = EnvironmentFlags.Parse(p.Values("env"), Environment.GetEnvironmentVariable);
        string workdir = p.Value("workdir") ?? "/";
        if (!workdir.StartsWith('/'))
        {
            throw SkiffException.Invalid($"the working directory '{workdir}' is invalid, it needs to be an absolute path");
        }
        var network = p.Value("network") switch
        {
            null or "none" => NetworkMode.None,
            "host" => NetworkMode.Host,
            var other => throw SkiffException.Invalid($"network mode \"{other}\" is not supported: use none or host"),
        };
        string? hostname = p.Value("hostname");
        if (hostname is not null && (hostname.Length is 0 or > 64 || hostname.Contains('/') || hostname.Contains('\0')))
        {
            throw SkiffException.Invalid($"invalid hostname \"{hostname}\": 1 to 64 characters, no '/'");
        }
        bool tty = p.Bool("tty"), interactive = p.Bool("interactive");
        if (tty && interactive && Interop.Libc.isatty(0) != 1)
        {
            throw SkiffException.Invalid("the input device is not a TTY: drop -t, or run skiff from a terminal");
        }

        var ids = IdMappingResolver.ForCurrentUser();
        if (ids.Warning is not null)
        {
            Console.Error.WriteLine($"skiff: warning: {ids.Warning}");
        }
        var user = ContainerUser.Resolve(p.Value("user"), RootFilesystem.ReadEtc(rootfs, "passwd"),
            RootFilesystem.ReadEtc(rootfs, "group"), ids.Mapping);
        var (rows, cols) = tty ? TerminalSession.CurrentSize() : ((ushort)0, (ushort)0);
        var spec = new ContainerSpec
        {
            Id = SkiffPaths.NewContainerId(),
            Layers = [rootfs],
            Args = p.Positionals,
            Env = env,
            WorkingDir = workdir,
            User = p.Value("user"),
            Hostname = hostname,
            Network = network,
            Tty = tty,
            Interactive = interactive,
            Remove = p.Bool("rm"),
            TerminalRows = rows,
            TerminalCols = cols,
        };
        var dir = new ContainerDirectory(Path.Combine(context.Paths.Containers, spec.Id));
        int code = new ForegroundRun(LinuxSyscalls.Instance).Execute(spec, dir, ids.Mapping, user);
        StartKeeper(ids.Mapping);
        return code;
    }

    /// <summary>
    /// After a rootless run that had to map its own ids, leave a keeper behind so the next
    /// command joins it instead (after the container, so it never delays one). Best effort:
    /// without a keeper skiff still works, only slower.
    /// </summary>
    private static void StartKeeper(IdMapping mapping)
    {
        if (mapping.Mode == IdMapMode.Host || mapping.Joined || Environment.GetEnvironmentVariable("SKIFF_NO_KEEPER") is not null)
        {
            return;
        }
        try
        {
            UserNamespaceKeeper.Start(LinuxSyscalls.Instance, mapping);
        }
        catch (SkiffException e)
        {
            Console.Error.WriteLine($"skiff: warning: could not start the user namespace keeper: {e.Message}");
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"skiff: warning: could not start the user namespace keeper: {e.Message}");
        }
    }
}
