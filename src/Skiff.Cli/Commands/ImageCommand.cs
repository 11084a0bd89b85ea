using Skiff.Cli.CommandLine;

namespace Skiff.Cli.Commands;

/// <summary>skiff image SUBCOMMAND: Docker's management form of the image verbs.</summary>
public static class ImageCommand
{
    public static int Execute(CliContext context, string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "help")
        {
            Console.Out.Write("""

                Usage:  skiff image COMMAND

                Manage images

                Commands:
                  history     Show the history of an image
                  import      Import the contents from a tarball or directory to create a filesystem image
                  inspect     Display detailed information on one or more images
                  load        Load an image from a tar archive or STDIN
                  ls          List images
                  prune       Remove unused images
                  rm          Remove one or more images
                  save        Save one or more images to a tar archive (streamed to STDOUT by default)
                  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE

                """);
            return args.Length == 0 ? 125 : 0;
        }
        string[] rest = args[1..];
        return args[0] switch
        {
            "ls" or "list" => ImagesCommand.Execute(context, rest),
            "inspect" => ImageInspectCommand.Execute(context, rest),
            "history" => HistoryCommand.Execute(context, rest),
            "prune" => ImagePruneCommand.Execute(context, rest),
            "rm" or "remove" => RmiCommand.Execute(context, rest),
            "tag" => TagCommand.Execute(context, rest),
            "import" => ImportCommand.Execute(context, rest),
            "save" => SaveCommand.Execute(context, rest),
            "load" => LoadCommand.Execute(context, rest),
            _ => throw new UsageException($"unknown command \"{args[0]}\" for \"skiff image\""),
        };
    }
}
