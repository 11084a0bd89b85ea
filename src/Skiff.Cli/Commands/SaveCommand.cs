using Skiff.Cli.CommandLine;
using Skiff.Images;

namespace Skiff.Cli.Commands;

/// <summary>skiff save: images to a Docker archive (default) or an OCI archive.</summary>
public static class SaveCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Value("output", 'o', "string", "Write to a file, instead of STDOUT"),
        FlagSpec.Value("format", FlagSpec.NoShort, "string", "docker-archive (default) or oci-archive"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff save [OPTIONS] IMAGE [IMAGE...]",
                "Save one or more images to a tar archive (streamed to STDOUT by default)", Flags));
            return 0;
        }
        if (p.Positionals.Count == 0)
        {
            throw new UsageException("\"skiff save\" requires at least 1 argument");
        }
        var format = p.Value("format") switch
        {
            null or "docker" or "docker-archive" => ArchiveFormat.Docker,
            "oci" or "oci-archive" => ArchiveFormat.Oci,
            var other => throw SkiffException.Invalid($"unsupported --format \"{other}\": use docker-archive or oci-archive"),
        };
        string? output = p.Value("output");
        if (output is null && Interop.Libc.isatty(1) == 1)
        {
            throw SkiffException.Invalid("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        }
        var store = ImageStores.ForReading(context);
        foreach (var reference in p.Positionals)
        {
            store.Resolve(reference);
        }
        if (output is null)
        {
            using var stdout = Console.OpenStandardOutput();
            ImageArchiveWriter.Save(store, p.Positionals, stdout, format);
            return 0;
        }
        // Written beside the target and renamed: a failed save leaves no half archive.
        string full = Path.GetFullPath(output);
        string tmp = full + ".skiff-tmp";
        try
        {
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                ImageArchiveWriter.Save(store, p.Positionals, f, format);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            File.Delete(tmp);
        }
        return 0;
    }
}
