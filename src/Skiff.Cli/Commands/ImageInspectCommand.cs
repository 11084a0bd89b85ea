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
                Write(w, store, image);
            }
            w.WriteEndArray();
        }
        stdout.Write("\n"u8);
        return status;
    }

    private static void Write(Utf8JsonWriter w, ImageStore store, ImageRecord image)
    {
        var config = store.ReadConfig(image);
        var c = config.Config ?? new ContainerConfig();
        w.WriteStartObject();
        w.WriteString("Id", image.Id);
        Strings(w, "RepoTags", image.Names.Select(n => ImageReference.Parse(n).Familiar));
        Strings(w, "RepoDigests", image.RepoDigests.Select(ImageReference.FamiliarName));
        w.WriteString("Parent", "");
        w.WriteString("Comment", config.Comment ?? config.History?.LastOrDefault()?.Comment ?? "");
        w.WriteString("Created", config.Created ?? "");
        w.WriteString("DockerVersion", "");
        w.WriteString("Author", config.Author ?? "");
        w.WriteStartObject("Config");
        w.WriteString("Hostname", "");
        w.WriteString("Domainname", "");
        w.WriteString("User", c.User ?? "");
        w.WriteBoolean("AttachStdin", false);
        w.WriteBoolean("AttachStdout", false);
        w.WriteBoolean("AttachStderr", false);
        if (c.ExposedPorts is { Count: > 0 })
        {
            w.WriteStartObject("ExposedPorts");
            foreach (var port in c.ExposedPorts.Keys)
            {
                w.WriteStartObject(port);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteBoolean("Tty", false);
        w.WriteBoolean("OpenStdin", false);
        w.WriteBoolean("StdinOnce", false);
        NullableStrings(w, "Env", c.Env);
        NullableStrings(w, "Cmd", c.Cmd);
        w.WriteString("Image", "");
        w.WriteNull("Volumes");
        w.WriteString("WorkingDir", c.WorkingDir ?? "");
        NullableStrings(w, "Entrypoint", c.Entrypoint);
        w.WriteNull("OnBuild");
        if (c.Labels is null)
        {
            w.WriteNull("Labels");
        }
        else
        {
            w.WriteStartObject("Labels");
            foreach (var (k, v) in c.Labels)
            {
                w.WriteString(k, v);
            }
            w.WriteEndObject();
        }
        if (c.StopSignal is not null)
        {
            w.WriteString("StopSignal", c.StopSignal);
        }
        w.WriteEndObject();
        w.WriteString("Architecture", config.Architecture);
        if (config.Variant is not null)
        {
            w.WriteString("Variant", config.Variant);
        }
        w.WriteString("Os", config.Os);
        w.WriteNumber("Size", image.Size);
        w.WriteStartObject("GraphDriver");
        w.WriteStartObject("Data");
        var layers = store.ReadLaunch(image).Layers;
        w.WriteString("LowerDir", string.Join(':', layers.Skip(1)));
        w.WriteString("UpperDir", layers.Count > 0 ? layers[0] : "");
        w.WriteEndObject();
        w.WriteString("Name", "overlay");
        w.WriteEndObject();
        w.WriteStartObject("RootFS");
        w.WriteString("Type", config.RootFs.Type);
        Strings(w, "Layers", config.RootFs.DiffIds);
        w.WriteEndObject();
        w.WriteStartObject("Metadata");
        w.WriteString("LastTagTime", image.Added.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }
        w.WriteEndArray();
    }

    private static void NullableStrings(Utf8JsonWriter w, string name, IEnumerable<string>? values)
    {
        if (values is null)
        {
            w.WriteNull(name);
        }
        else
        {
            Strings(w, name, values);
        }
    }
}
