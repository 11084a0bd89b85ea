using Skiff.Cli.CommandLine;
using Skiff.Images;

namespace Skiff.Cli.Commands;

/// <summary>skiff tag SOURCE TARGET: another name for an image.</summary>
public static class TagCommand
{
    private static readonly FlagSpec[] Flags = [FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage")];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
                "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", Flags));
            return 0;
        }
        if (p.Positionals.Count != 2)
        {
            throw new UsageException("\"skiff tag\" requires exactly 2 arguments");
        }
        var target = ImageReference.Parse(p.Positionals[1]);
        ImageStores.ForReading(context).Tag(p.Positionals[0], target);
        return 0;
    }
}
