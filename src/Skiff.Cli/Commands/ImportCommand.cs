using Skiff.Cli.CommandLine;
using Skiff.Images;

namespace Skiff.Cli.Commands;

/// <summary>skiff import: a root filesystem tarball or directory becomes a one-layer image.</summary>
public static class ImportCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.List("change", 'c', "list", "Apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE)"),
        FlagSpec.Value("message", 'm', "string", "Set the commit message for the imported image"),
        FlagSpec.Value("platform", FlagSpec.NoShort, "string", "Set the platform (linux/amd64 by default)"),
        FlagSpec.Bool("quiet", 'q', "Print nothing but the image ID"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff import [OPTIONS] file|DIRECTORY [REPOSITORY[:TAG]]",
                "Import the contents from a tarball or a directory to create a filesystem image", Flags));
            return 0;
        }
        if (p.Positionals.Count is 0 or > 2)
        {
            throw new UsageException("\"skiff import\" requires 1 or 2 arguments: a tarball or directory, and a name");
        }
        string source = Path.GetFullPath(p.Positionals[0]);
        var names = new List<ImageReference>();
        if (p.Positionals.Count == 2)
        {
            var r = ImageReference.Parse(p.Positionals[1]);
            if (r.Digest is not null)
            {
                throw SkiffException.Invalid($"import: a name with a digest cannot be given to a new image: {p.Positionals[1]}");
            }
            names.Add(r);
        }
        string arch = "amd64";
        if (p.Value("platform") is { } platform)
        {
            var parts = platform.Split('/');
            if (parts.Length < 2 || parts[0] != "linux" || parts[1].Length == 0)
            {
                throw SkiffException.Invalid($"invalid platform \"{platform}\": use linux/ARCH");
            }
            arch = parts[1];
        }
        // Validate what can be validated before anything is written (and before any re-exec).
        foreach (var change in p.Values("change"))
        {
            ConfigChanges.Apply(new ContainerConfig(), change);
        }
        if (!File.Exists(source) && !Directory.Exists(source))
        {
            throw SkiffException.NotFound($"import {source}: no such file or directory");
        }
        var store = ImageStores.ForWriting(context);
        var image = ImageImport.Import(store, source, names, p.Values("change"), p.Value("message"), arch);
        Console.Out.WriteLine(image.Id);
        return 0;
    }
}
