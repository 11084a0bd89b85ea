using Skiff.Cli.CommandLine;

namespace Skiff.Cli.Commands;

/// <summary>skiff container SUBCOMMAND: Docker's management form of the container verbs.</summary>
public static class ContainerCommand
{
    private sealed record Verb(string Name, string Help, Func<CliContext, string[], int> Run, params string[] Aliases);

    /// <summary>One row per subcommand, in the order `--help` lists them.</summary>
    private static readonly Verb[] Verbs =
    [
        new("attach", "Attach local standard input, output, and error streams to a running container", AttachCommand.Execute),
        new("cp", "Copy files/folders between a container and the local filesystem", CpCommand.Execute),
        new("create", "Create a new container", CreateCommand.Execute),
        new("exec", "Execute a command in a running container", ExecCommand.Execute),
        new("inspect", "Display detailed information on one or more containers", InspectCommand.ExecuteContainer),
        new("kill", "Kill one or more running containers", KillCommand.Execute),
        new("logs", "Fetch the logs of a container", LogsCommand.Execute),
        new("ls", "List containers", PsCommand.Execute, "list", "ps"),
        new("pause", "Pause all processes within one or more containers", PauseCommand.Pause),
        new("prune", "Remove all stopped containers", ContainerPruneCommand.Execute),
        new("rename", "Rename a container", RenameCommand.Execute),
        new("restart", "Restart one or more containers", (c, a) => StopCommand.Execute(c, a, restart: true)),
        new("rm", "Remove one or more containers", RmCommand.Execute, "remove"),
        new("run", "Create and run a new container from an image", RunCommand.Execute),
        new("start", "Start one or more stopped containers", StartCommand.Execute),
        new("stats", "Display a live stream of container(s) resource usage statistics", StatsCommand.Execute),
        new("stop", "Stop one or more running containers", (c, a) => StopCommand.Execute(c, a, restart: false)),
        new("top", "Display the running processes of a container", TopCommand.Execute),
        new("unpause", "Unpause all processes within one or more containers", PauseCommand.Unpause),
        new("wait", "Block until one or more containers stop, then print their exit codes", WaitCommand.Execute),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "help")
        {
            var sb = new System.Text.StringBuilder("\nUsage:  skiff container COMMAND\n\nManage containers\n\nCommands:\n");
            foreach (var v in Verbs)
            {
                sb.Append("  ").Append(v.Name.PadRight(12)).Append(v.Help).Append('\n');
            }
            sb.Append("\nRun 'skiff container COMMAND --help' for more information on a command.\n");
            Console.Out.Write(sb.ToString());
            return args.Length == 0 ? 125 : 0;
        }
        foreach (var v in Verbs)
        {
            if (v.Name == args[0] || v.Aliases.Contains(args[0]))
            {
                return v.Run(context, args[1..]);
            }
        }
        throw new UsageException($"unknown command \"{args[0]}\" for \"skiff container\"");
    }
}
