using Skiff.Cli.CommandLine;

namespace Skiff.Cli.Commands;

/// <summary>skiff rmi: untag, and remove an image with the layers and blobs only it used.</summary>
public static class RmiCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("force", 'f', "Force removal of the image"),
        FlagSpec.Bool("no-prune", FlagSpec.NoShort, "Accepted for Docker's sake"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", Flags));
            return 0;
        }
        if (p.Positionals.Count == 0)
        {
            throw new UsageException("\"skiff rmi\" requires at least 1 argument");
        }
        // Layers may hold files of every mapped id: removing them is for the keeper's namespace.
        var store = ImageStores.ForWriting(context);
        int status = 0;
        foreach (var reference in p.Positionals)
        {
            try
            {
                foreach (var line in store.Remove(reference, p.Bool("force")))
                {
                    Console.Out.WriteLine(line);
                }
            }
            catch (SkiffException e)
            {
                Console.Error.WriteLine($"skiff: {e.Message}");
                // A conflict (in use, several names) is skiff's own refusal: 125, as for every other engine error.
                status = e.Category == ErrorCategory.Conflict ? 125 : Math.Max(status, 1);
            }
        }
        return status;
    }
}
