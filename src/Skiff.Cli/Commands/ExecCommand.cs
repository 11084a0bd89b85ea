using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;
using Skiff.Linux;

namespace Skiff.Cli.Commands;

/// <summary>skiff exec: a command in a running container; its exit code is ours.</summary>
public static class ExecCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("detach", 'd', "Detached mode: run command in the background"),
        FlagSpec.Value("detach-keys", FlagSpec.NoShort, "string", "Override the key sequence for detaching a container"),
        FlagSpec.List("env", 'e', "list", "Set environment variables"),
        FlagSpec.List("env-file", FlagSpec.NoShort, "list", "Read in a file of environment variables"),
        FlagSpec.Bool("interactive", 'i', "Keep STDIN open even if not attached"),
        FlagSpec.Bool("privileged", FlagSpec.NoShort, "Give extended privileges to the command"),
        FlagSpec.Bool("tty", 't', "Allocate a pseudo-TTY"),
        FlagSpec.Value("user", 'u', "string", "Username or UID (format: \"<name|uid>[:<group|gid>]\")"),
        FlagSpec.Value("workdir", 'w', "string", "Working directory inside the container"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", Flags));
            return 0;
        }
        if (p.Positionals.Count < 2)
        {
            throw new UsageException("\"skiff exec\" requires at least 2 arguments");
        }
        bool tty = p.Bool("tty"), interactive = p.Bool("interactive");
        if (tty && interactive && Interop.Libc.isatty(0) != 1)
        {
            throw SkiffException.Invalid("the input device is not a TTY");
        }
        var env = new List<string>();
        foreach (var file in p.Values("env-file"))
        {
            env.AddRange(ContainerFlagValues.ReadKeyValueFile(file, Environment.GetEnvironmentVariable));
        }
        env.AddRange(EnvironmentFlags.Parse(p.Values("env"), Environment.GetEnvironmentVariable));
        var store = ContainerTargets.Store(context);
        string id;
        try
        {
            id = store.Resolve(p.Positionals[0]);
        }
        catch (SkiffException e)
        {
            Console.Error.WriteLine($"Error response from daemon: {e.Message}");
            return 1;
        }
        var request = new ExecRequest
        {
            Cmd = p.Positionals.Skip(1).ToList(),
            Env = env,
            User = p.Value("user"),
            WorkingDir = p.Value("workdir"),
            Tty = tty,
            Interactive = interactive,
            Detach = p.Bool("detach"),
            Privileged = p.Bool("privileged"),
        };
        try
        {
            return ContainerExec.Run(LinuxSyscalls.Instance, store, id, request, Path.Combine(context.Paths.Root, "cache"));
        }
        catch (SkiffException e) when (e.Category is ErrorCategory.Conflict or ErrorCategory.NotFound && e is not SystemCallException)
        {
            Console.Error.WriteLine($"Error response from daemon: {e.Message}");
            return 1;
        }
    }
}
