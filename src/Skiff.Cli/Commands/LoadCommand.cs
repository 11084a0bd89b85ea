using Skiff.Cli.CommandLine;
using Skiff.Images;

namespace Skiff.Cli.Commands;

/// <summary>skiff load: images from a Docker archive or an OCI archive (or layout directory), on a file or STDIN.</summary>
public static class LoadCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Value("input", 'i', "string", "Read from tar archive file (or an OCI layout directory), instead of STDIN"),
        FlagSpec.Bool("quiet", 'q', "Suppress the load output"),
        FlagSpec.Value("platform", FlagSpec.NoShort, "string", "Platform to load from an index (default linux/amd64)"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff load [OPTIONS]", "Load an image from a tar archive or STDIN", Flags));
            return 0;
        }
        if (p.Positionals.Count > 0)
        {
            throw new UsageException("\"skiff load\" accepts no arguments: use -i FILE or STDIN");
        }
        string? input = p.Value("input");
        string platform = p.Value("platform") ?? "linux/amd64";
        if (input is not null && !File.Exists(input) && !Directory.Exists(input))
        {
            throw SkiffException.NotFound($"load {input}: no such file or directory");
        }
        if (input is null && Interop.Libc.isatty(0) == 1)
        {
            throw SkiffException.Invalid("requested load from stdin, but stdin is empty: use -i FILE or a redirect");
        }
        var store = ImageStores.ForWriting(context);
        List<string> loaded;
        if (input is not null && Directory.Exists(input))
        {
            loaded = ImageArchive.LoadLayout(store, Path.GetFullPath(input), platform);
        }
        else
        {
            using var stream = input is null ? Console.OpenStandardInput() : File.OpenRead(input);
            loaded = ImageArchive.Load(store, stream, platform);
        }
        if (!p.Bool("quiet"))
        {
            foreach (var line in loaded)
            {
                Console.Out.WriteLine(line);
            }
        }
        return 0;
    }
}
