using System.Text.Json;
using Skiff.Cli.CommandLine;
using Skiff.Images;

namespace Skiff.Cli.Commands;

/// <summary>skiff image inspect: Docker's JSON shape, one array of images.</summary>
public static class ImageInspectCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Value("format", 'f', "string", "Format output: json (default)"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff image inspect [OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images", Flags));
            return 0;
        }
        if (p.Positionals.Count == 0)
        {
            throw new UsageException("\"skiff image inspect\" requires at least 1 argument");
        }
        if (p.Value("format") is { } f && f != "json")
        {
            throw SkiffException.Invalid($"unsupported --format \"{f}\": skiff prints JSON");
        }
        var store = ImageStores.ForReading(context);
        var index = store.ReadIndex();
        var images = new List<ImageRecord>();
        int status = 0;
        foreach (var reference in p.Positionals)
        {
            if (ImageStore.Find(index, reference) is { } image)
            {
                images.Add(image);
            }
            else
            {
                Console.Error.WriteLine($"skiff: no such image: {reference}");
                status = 1;
            }
        }
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (var image in images)
            {
                ImageInspection.Write(w, store, image);
            }
            w.WriteEndArray();
        }
        stdout.Write("\n"u8);
        return status;
    }
}
