using Skiff.Cli.CommandLine;
using Skiff.Engine;
using Skiff.Images;
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
        FlagSpec.Value("rootfs", FlagSpec.NoShort, "DIR", "Run from this root filesystem directory (never modified) instead of an image"),
        FlagSpec.Value("entrypoint", FlagSpec.NoShort, "string", "Overwrite the default ENTRYPOINT of the image"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]\n        skiff run [OPTIONS] --rootfs DIR COMMAND [ARG...]",
                "Create and run a new container from an image or a root filesystem directory", Flags));
            return 0;
        }
        var env = EnvironmentFlags.Parse(p.Values("env"), Environment.GetEnvironmentVariable);
        IReadOnlyList<string> layers, command;
        string workdir;
        string? userSpec, passwd, group, imageId = null;
        if (p.Value("rootfs") is { } rootfs)
        {
            if (p.Positionals.Count == 0)
            {
                throw new UsageException("\"skiff run\" requires a command to run in the container");
            }
            rootfs = RootFilesystem.Validate(rootfs);
            layers = [rootfs];
            command = p.Positionals;
            workdir = p.Value("workdir") ?? "/";
            userSpec = p.Value("user");
            passwd = RootFilesystem.ReadEtc(rootfs, "passwd");
            group = RootFilesystem.ReadEtc(rootfs, "group");
        }
        else
        {
            if (p.Positionals.Count == 0)
            {
                throw new UsageException("\"skiff run\" requires at least 1 argument: an image (or --rootfs DIR and a command)");
            }
            var store = ImageStores.ForReading(context);
            var image = store.Resolve(p.Positionals[0]);
            imageId = image.Id;
            var resolved = ImageLaunch.Resolve(store.ReadLaunch(image), new RunOverrides
            {
                Command = p.Positionals.Skip(1).ToArray(),
                Entrypoint = p.Value("entrypoint"),
                Env = env,
                WorkingDir = p.Value("workdir"),
                User = p.Value("user"),
            }, p.Positionals[0]);
            layers = resolved.Layers;
            command = resolved.Args;
            env = resolved.Env.ToList();
            workdir = resolved.WorkingDir;
            userSpec = resolved.User;
            passwd = LayerFiles.ReadEtc(layers, "passwd");
            group = LayerFiles.ReadEtc(layers, "group");
        }
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
        var user = ContainerUser.Resolve(userSpec, passwd, group, ids.Mapping);
        var (rows, cols) = tty ? TerminalSession.CurrentSize() : ((ushort)0, (ushort)0);
        var spec = new ContainerSpec
        {
            Id = SkiffPaths.NewContainerId(),
            Layers = layers,
            Args = command,
            Env = env,
            WorkingDir = workdir,
            User = userSpec,
            Hostname = hostname,
            Network = network,
            Tty = tty,
            Interactive = interactive,
            Remove = p.Bool("rm"),
            TerminalRows = rows,
            TerminalCols = cols,
        };
        var dir = new ContainerDirectory(Path.Combine(context.Paths.Containers, spec.Id));
        if (imageId is not null)
        {
            // rmi and image prune see the image in use for as long as the container directory exists.
            ContainerUsage.Record(dir.Path, imageId);
        }
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
