using Skiff.Cli.CommandLine;

namespace Skiff.Cli.Commands;

/// <summary>skiff image prune: dangling images (with -a, every image no container uses) and what only they used.</summary>
public static class ImagePruneCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("all", 'a', "Remove all unused images, not just dangling ones"),
        FlagSpec.Bool("force", 'f', "Do not prompt for confirmation"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff image prune [OPTIONS]", "Remove unused images", Flags));
            return 0;
        }
        if (p.Positionals.Count > 0)
        {
            throw new UsageException("\"skiff image prune\" accepts no arguments");
        }
        bool all = p.Bool("all");
        if (!p.Bool("force") && !Confirm(all))
        {
            return 0;
        }
        var (lines, reclaimed) = ImageStores.ForWriting(context).Prune(all);
        var output = Console.Out;
        if (lines.Count > 0)
        {
            output.WriteLine("Deleted Images:");
            foreach (var line in lines)
            {
                output.WriteLine(line);
            }
            output.WriteLine();
        }
        output.WriteLine("Total reclaimed space: " + ImageFormat.Size(reclaimed));
        return 0;
    }

    /// <summary>Docker's prompt; no answer (end of input) is no.</summary>
    private static bool Confirm(bool all)
    {
        Console.Out.Write(all
            ? "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] "
            : "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ");
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
