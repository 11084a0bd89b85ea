using System.Text.Json;
using System.Text.Json.Nodes;
using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;
using Skiff.Engine.Volumes;
using Skiff.Images;

namespace Skiff.Cli.Commands;

/// <summary>
/// skiff inspect (and `container inspect`): Docker's JSON array, or each object through a
/// Go template. A name that is not a container is looked up as an image, then as a volume,
/// the order `docker inspect` tries them in.
/// </summary>
public static class InspectCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Value("format", 'f', "string", "Format output using a custom template: 'json' or a Go template"),
        FlagSpec.Bool("size", 's', "Display total file sizes if the type is container"),
        FlagSpec.Value("type", FlagSpec.NoShort, "string", "Only inspect objects of the given type (container, image, volume)"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    /// <summary>skiff inspect NAME…: any kind of object.</summary>
    public static int Execute(CliContext context, string[] args) => ContainerVerb.Guard(() => Run(context, args, null));

    /// <summary>skiff container inspect NAME…: containers only, Docker's daemon error for others.</summary>
    public static int ExecuteContainer(CliContext context, string[] args) => ContainerVerb.Guard(() => Run(context, args, "container"));

    private static int Run(CliContext context, string[] args, string? only)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        string verb = only is null ? "skiff inspect" : "skiff container inspect";
        string usage = only is null ? "skiff inspect [OPTIONS] NAME|ID [NAME|ID...]" : "skiff container inspect [OPTIONS] CONTAINER [CONTAINER...]";
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For(usage, only is null ? "Return low-level information on Docker objects" : "Display detailed information on one or more containers",
                only is null ? Flags : Flags.Where(f => f.Name != "type").ToArray()));
            return 0;
        }
        ContainerVerb.AtLeast(p, 1, verb, usage);
        string? type = only ?? p.Value("type");
        if (type is not (null or "" or "container" or "image" or "volume"))
        {
            throw SkiffException.Invalid($"\"{type}\" is not a valid value for --type");
        }
        string? format = p.Value("format");
        GoTemplate? template = format is null or "" or "json" ? null : GoTemplate.Parse(GoTemplate.Unescape(format));
        var objects = new Objects(context, p.Bool("size"));
        var found = new List<Action<Utf8JsonWriter>>();
        var nodes = new List<JsonNode>();
        var errors = new List<string>();
        foreach (var name in p.Positionals)
        {
            if (objects.Find(name, type) is { } write)
            {
                if (template is null)
                {
                    found.Add(write);
                }
                else
                {
                    nodes.Add(ToNode(write));
                }
                continue;
            }
            errors.Add(type switch
            {
                null or "" => $"Error: No such object: {name}",
                "container" => ContainerVerb.DaemonError + "No such container: " + name,
                "image" => ContainerVerb.DaemonError + "No such image: " + name,
                _ => ContainerVerb.DaemonError + "get " + name + ": no such volume",
            });
        }
        if (template is null)
        {
            using var stdout = Console.OpenStandardOutput();
            using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions
            {
                Indented = true, IndentSize = 4, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            }))
            {
                w.WriteStartArray();
                foreach (var write in found)
                {
                    write(w);
                }
                w.WriteEndArray();
            }
            stdout.Write("\n"u8);
        }
        else
        {
            var output = new System.Text.StringBuilder();
            foreach (var node in nodes)
            {
                output.Append(template.Execute(node)).Append('\n');
            }
            Console.Out.Write(output.ToString());
        }
        if (errors.Count > 0)
        {
            Console.Out.Flush();
            Console.Error.WriteLine(string.Join('\n', errors));
            return 1;
        }
        return 0;
    }

    private static JsonNode ToNode(Action<Utf8JsonWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            write(w);
        }
        return JsonNode.Parse(ms.ToArray())!;
    }

    /// <summary>The objects a name may mean, each opened only when asked for.</summary>
    private sealed class Objects(CliContext context, bool size)
    {
        private ContainerStore? _containers;
        private ImageStore? _images;
        private ImageIndexFile? _index;
        private VolumeStore? _volumes;

        /// <summary>A writer of the object's JSON, or null when the name means nothing of that type.</summary>
        public Action<Utf8JsonWriter>? Find(string name, string? type)
        {
            if (type is null or "" or "container" && Container(name) is { } c)
            {
                return w => JsonSerializer.Serialize(w, c, ContainerInspectJson.Default.ContainerInspectResponse);
            }
            if (type is null or "" or "image" && Image(name) is { } image)
            {
                var store = _images!;
                return w => ImageInspection.Write(w, store, image);
            }
            if (type is null or "" or "volume" && Volume(name) is { } volume)
            {
                return w => JsonSerializer.Serialize(w, volume, VolumeJson.Default.VolumeRecord);
            }
            return null;
        }

        private ContainerInspectResponse? Container(string name)
        {
            _containers ??= ContainerTargets.Store(context);
            try
            {
                string id = _containers.Resolve(name);
                return ContainerInspect.Inspect(_containers, id, size, size ? new StoreImageLookup(ImageStores.ForReading(context)) : null);
            }
            catch (SkiffException e) when (e.Category == ErrorCategory.NotFound)
            {
                return null;
            }
        }

        private ImageRecord? Image(string name)
        {
            _images ??= ImageStores.ForReading(context);
            try
            {
                _index ??= _images.ReadIndex();
                return ImageStore.Find(_index, name);
            }
            catch (SkiffException)
            {
                return null;
            }
        }

        private VolumeRecord? Volume(string name)
        {
            _volumes ??= new VolumeStore(context.Paths.Root);
            try
            {
                return _volumes.Find(name);
            }
            catch (SkiffException)
            {
                return null;
            }
        }
    }
}
