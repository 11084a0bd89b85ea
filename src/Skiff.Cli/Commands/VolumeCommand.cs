using System.Globalization;
using System.Text;
using System.Text.Json;
using Skiff.Cli.CommandLine;
using Skiff.Engine.Volumes;

namespace Skiff.Cli.Commands;

/// <summary>
/// skiff volume create|ls|inspect|rm|prune: Docker's local volumes, its output and its
/// exit codes (1 when the engine refuses, 125 for a flag it does not know).
/// </summary>
public static class VolumeCommand
{
    public static int Execute(CliContext context, string[] args) => Execute(context, args, InUse(context));

    /// <summary>Every container with the names of the volumes it mounts (named and anonymous).</summary>
    public static Func<IEnumerable<(string ContainerId, IEnumerable<string> VolumeNames)>> InUse(CliContext context) =>
        VolumeFilters.UsageOf(new Skiff.Engine.Containers.ContainerStore(context.Paths));

    public static int Execute(CliContext context, string[] args, Func<IEnumerable<(string ContainerId, IEnumerable<string> VolumeNames)>> inUse)
    {
        if (args.Length == 0 || args[0] is "--help" or "help")
        {
            Console.Out.Write("""

                Usage:  skiff volume COMMAND

                Manage volumes

                Commands:
                  create      Create a volume
                  inspect     Display detailed information on one or more volumes
                  ls          List volumes
                  prune       Remove unused local volumes
                  rm          Remove one or more volumes

                Run 'skiff volume COMMAND --help' for more information on a command.

                """);
            return args.Length == 0 ? 125 : 0;
        }
        string[] rest = args[1..];
        Func<VolumeStore> store = () => new VolumeStore(context.Paths.Root, inUse);
        try
        {
            return ImageVerb.Guard(() => args[0] switch
            {
                "create" => Create(store, rest),
                "ls" or "list" => List(store, rest),
                "inspect" => Inspect(store, rest),
                "rm" or "remove" => Remove(context, store, rest),
                "prune" => Prune(context, store, rest),
                _ => throw new UsageException($"unknown command \"{args[0]}\" for \"skiff volume\""),
            });
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"skiff: {e.Message}");
            Console.Error.WriteLine($"See 'skiff volume {args[0]} --help'.");
            return 125;
        }
        catch (SkiffException e)
        {
            // The docker CLI exits 1 for whatever its daemon refuses.
            Console.Error.WriteLine($"skiff: {e.Message}");
            return 1;
        }
    }

    private static readonly FlagSpec[] CreateFlags =
    [
        FlagSpec.Value("driver", 'd', "string", "Specify volume driver name (default \"local\")"),
        FlagSpec.List("label", FlagSpec.NoShort, "list", "Set metadata for a volume"),
        FlagSpec.Value("name", FlagSpec.NoShort, "string", "Specify volume name"),
        FlagSpec.List("opt", 'o', "map", "Set driver specific options"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    private static int Create(Func<VolumeStore> store, string[] args)
    {
        var p = FlagParser.Parse(CreateFlags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff volume create [OPTIONS] [VOLUME]", "Create a volume", CreateFlags));
            return 0;
        }
        if (p.Positionals.Count > 1)
        {
            return ArgumentError("create", "accepts at most 1 argument");
        }
        string? name = p.Value("name");
        if (p.Positionals.Count == 1)
        {
            if (name is not null && name != p.Positionals[0])
            {
                throw SkiffException.Invalid("conflicting options: either specify --name or provide positional arg, not both");
            }
            name = p.Positionals[0];
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var l in p.Values("label"))
        {
            try
            {
                ContainerFlagValues.Label(l);
            }
            catch (FormatException e)
            {
                throw new UsageException($"invalid argument \"{l}\" for \"--label\" flag: {e.Message}");
            }
            var (k, v, _) = ContainerFlagValues.Cut(l, '=');
            labels[k] = v;
        }
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in p.Values("opt"))
        {
            var (k, v, _) = ContainerFlagValues.Cut(o, '=');
            options[k] = v;
        }
        var volume = store().Create(name, labels, options, p.Value("driver") ?? VolumeStore.LocalDriver);
        Console.Out.WriteLine(volume.Name);
        return 0;
    }

    private static readonly FlagSpec[] ListFlags =
    [
        FlagSpec.List("filter", 'f', "filter", "Provide filter values (e.g. \"dangling=true\")"),
        FlagSpec.Value("format", FlagSpec.NoShort, "string", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'"),
        FlagSpec.Bool("quiet", 'q', "Only display volume names"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    private static int List(Func<VolumeStore> open, string[] args)
    {
        var p = FlagParser.Parse(ListFlags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff volume ls [OPTIONS]", "List volumes", ListFlags));
            return 0;
        }
        if (p.Positionals.Count > 0)
        {
            return ArgumentError("ls", "accepts no arguments");
        }
        var filters = Filters(p.Values("filter"), VolumeFilters.List);
        var store = open();
        var volumes = store.List();
        if (filters.Count > 0)
        {
            var used = store.Usage();
            volumes = volumes.Where(v => Matches(v, filters, used)).ToList();
        }
        var output = Console.Out;
        if (p.Bool("quiet"))
        {
            foreach (var v in volumes)
            {
                output.WriteLine(v.Name);
            }
            return 0;
        }
        string format = p.Value("format") ?? "table";
        if (format == "json")
        {
            foreach (var v in volumes)
            {
                output.WriteLine(VolumeTemplate.Json(VolumeTemplate.ListFields(v)));
            }
            return 0;
        }
        VolumeTemplate.Print(output, format == "table" ? "table {{.Driver}}\t{{.Name}}" : format, volumes, list: true);
        return 0;
    }

    private static readonly FlagSpec[] InspectFlags =
    [
        FlagSpec.Value("format", 'f', "string", "Format output using a custom template: 'json' or a Go template"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    private static int Inspect(Func<VolumeStore> open, string[] args)
    {
        var p = FlagParser.Parse(InspectFlags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff volume inspect [OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes", InspectFlags));
            return 0;
        }
        if (p.Positionals.Count == 0)
        {
            return ArgumentError("inspect", "requires at least 1 argument");
        }
        var store = open();
        var found = new List<VolumeRecord>();
        var missing = new List<string>();
        foreach (var name in p.Positionals)
        {
            if (store.Find(name) is { } v)
            {
                found.Add(v);
            }
            else
            {
                missing.Add(name);
            }
        }
        string? format = p.Value("format");
        if (format is null or "json")
        {
            Console.Out.Write(InspectJson(found));
        }
        else
        {
            VolumeTemplate.Print(Console.Out, format, found, list: false);
        }
        foreach (var name in missing)
        {
            Console.Error.WriteLine($"skiff: No such volume: {name}");
        }
        return missing.Count > 0 ? 1 : 0;
    }

    /// <summary>docker volume inspect: an array of Docker's Volume objects, indented by four.</summary>
    public static string InspectJson(IEnumerable<VolumeRecord> volumes)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, IndentSize = 4, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (var v in volumes)
            {
                VolumeTemplate.WriteVolume(w, v);
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static readonly FlagSpec[] RemoveFlags =
    [
        FlagSpec.Bool("force", 'f', "Force the removal of one or more volumes"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    private static int Remove(CliContext context, Func<VolumeStore> open, string[] args)
    {
        var p = FlagParser.Parse(RemoveFlags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff volume rm [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", RemoveFlags));
            return 0;
        }
        if (p.Positionals.Count == 0)
        {
            return ArgumentError("rm", "requires at least 1 argument");
        }
        EnterUserNamespace(context);
        var store = open();
        int status = 0;
        foreach (var name in p.Positionals)
        {
            try
            {
                store.Remove(name, p.Bool("force"));
                Console.Out.WriteLine(name);
            }
            catch (SkiffException e)
            {
                Console.Error.WriteLine($"skiff: {e.Message}");
                status = 1;
            }
        }
        return status;
    }

    private static readonly FlagSpec[] PruneFlags =
    [
        FlagSpec.Bool("all", 'a', "Remove all unused volumes, not just anonymous ones"),
        FlagSpec.List("filter", FlagSpec.NoShort, "filter", "Provide filter values (e.g. \"label=<label>\")"),
        FlagSpec.Bool("force", 'f', "Do not prompt for confirmation"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    private static int Prune(CliContext context, Func<VolumeStore> open, string[] args)
    {
        var p = FlagParser.Parse(PruneFlags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff volume prune [OPTIONS]", "Remove unused local volumes", PruneFlags));
            return 0;
        }
        if (p.Positionals.Count > 0)
        {
            return ArgumentError("prune", "accepts no arguments");
        }
        var filters = Filters(p.Values("filter"), VolumeFilters.Prune);
        bool all = p.Bool("all");
        if (filters.TryGetValue("all", out var allValues))
        {
            all |= allValues.Any(v => v is "1" or "true");
        }
        EnterUserNamespace(context);
        if (!p.Bool("force") && !Confirm(all))
        {
            return 0;
        }
        var (deleted, reclaimed) = open().Prune(all, v => Matches(v, filters, null));
        var output = Console.Out;
        if (deleted.Count > 0)
        {
            output.WriteLine("Deleted Volumes:");
            foreach (var name in deleted)
            {
                output.WriteLine(name);
            }
            output.WriteLine();
        }
        output.WriteLine("Total reclaimed space: " + HumanSize(reclaimed));
        return 0;
    }

    /// <summary>Docker's prompt; no answer (end of input) is no.</summary>
    private static bool Confirm(bool all)
    {
        Console.Out.Write(all
            ? "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] "
            : "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ");
        Console.Out.Flush();
        string? answer = Console.In.ReadLine();
        if (answer is null)
        {
            Console.Out.WriteLine();
            return false;
        }
        return answer.Trim() is "y" or "Y" or "yes" or "Yes" or "YES";
    }

    /// <summary>
    /// Rootless, a volume may hold files a container gave to subordinate ids, which only the
    /// keeper's user namespace may remove: enter it (the image store's way) before removing.
    /// </summary>
    private static void EnterUserNamespace(CliContext context)
    {
        if (!context.IsRoot)
        {
            ImageStores.ForWriting(context);
        }
    }

    /// <summary>go-units HumanSize: four significant digits, 1000-based.</summary>
    public static string HumanSize(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        double v = bytes;
        int u = 0;
        while (v >= 1000 && u < units.Length - 1)
        {
            v /= 1000;
            u++;
        }
        return v.ToString("G4", CultureInfo.InvariantCulture) + units[u];
    }

    /// <summary>Docker's "requires …" message; the docker CLI exits 1 for it.</summary>
    private static int ArgumentError(string verb, string what)
    {
        Console.Error.WriteLine($"skiff: \"skiff volume {verb}\" {what}.");
        Console.Error.WriteLine($"See 'skiff volume {verb} --help'.");
        return 1;
    }

    /// <summary>--filter key=value pairs; an unknown key is the engine's "invalid filter".</summary>
    private static Dictionary<string, List<string>> Filters(IReadOnlyList<string> values, string[] allowed)
    {
        var filters = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var f in values)
        {
            if (f.Length == 0)
            {
                continue;
            }
            var (k, v, ok) = ContainerFlagValues.Cut(f, '=');
            if (!ok)
            {
                throw new UsageException($"invalid argument \"{f}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)");
            }
            string key = k.Trim().ToLowerInvariant();
            if (!allowed.Contains(key))
            {
                throw SkiffException.Invalid($"invalid filter '{key}'");
            }
            if (!filters.TryGetValue(key, out var list))
            {
                filters[key] = list = [];
            }
            list.Add(v.Trim());
        }
        VolumeFilters.Validate(filters, allowed);
        return filters;
    }

    /// <summary>Values of one key match any; every key must match (Docker's filters.Args).</summary>
    private static bool Matches(VolumeRecord v, Dictionary<string, List<string>> filters, Dictionary<string, List<string>>? used) =>
        VolumeFilters.Matches(v, filters, used);
}

/// <summary>
/// The Go templates people pass to volume ls and inspect --format, the common subset:
/// {{.Field}}, {{json .}}, {{json .Field}}, {{.Label "k"}}, {{index .Labels "k"}}, a
/// "table" prefix with Docker's headers, \t and \n.
/// </summary>
public static class VolumeTemplate
{
    private static readonly Dictionary<string, string> Headers = new(StringComparer.Ordinal)
    {
        ["Name"] = "VOLUME NAME", ["Driver"] = "DRIVER", ["Scope"] = "SCOPE", ["Mountpoint"] = "MOUNTPOINT",
        ["Labels"] = "LABELS", ["Links"] = "LINKS", ["Size"] = "SIZE", ["CreatedAt"] = "CREATED AT",
        ["Availability"] = "AVAILABILITY", ["Group"] = "GROUP", ["Status"] = "STATUS",
    };

    /// <summary>The fields of docker's volume ls formatter (its --format json keys), in its order.</summary>
    public static List<(string Key, string Value)> ListFields(VolumeRecord v) =>
    [
        ("Availability", "N/A"), ("Driver", v.Driver), ("Group", "N/A"), ("Labels", JoinLabels(v.Labels)), ("Links", "N/A"),
        ("Mountpoint", v.Mountpoint), ("Name", v.Name), ("Scope", v.Scope), ("Size", "N/A"), ("Status", "N/A"),
    ];

    public static string Json(List<(string Key, string Value)> fields)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            foreach (var (k, v) in fields)
            {
                w.WriteString(k, v);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    public static void WriteVolume(Utf8JsonWriter w, VolumeRecord v)
    {
        w.WriteStartObject();
        w.WriteString("CreatedAt", v.CreatedAt);
        w.WriteString("Driver", v.Driver);
        Map(w, "Labels", v.Labels);
        w.WriteString("Mountpoint", v.Mountpoint);
        w.WriteString("Name", v.Name);
        Map(w, "Options", v.Options);
        w.WriteString("Scope", v.Scope);
        w.WriteEndObject();
    }

    private static void Map(Utf8JsonWriter w, string name, Dictionary<string, string>? map)
    {
        if (map is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        foreach (var (k, v) in map.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.WriteString(k, v);
        }
        w.WriteEndObject();
    }

    private static string JoinLabels(Dictionary<string, string>? labels) =>
        labels is null ? "" : string.Join(',', labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value));

    /// <summary>Renders format for each volume; a "table" format aligns its columns as docker's tabwriter does.</summary>
    public static void Print(TextWriter output, string format, IReadOnlyList<VolumeRecord> volumes, bool list)
    {
        bool table = format.StartsWith("table", StringComparison.Ordinal);
        string body = (table ? format[5..] : format).Trim(' ').Replace("\\t", "\t").Replace("\\n", "\n");
        var rows = new List<string>();
        if (table)
        {
            rows.Add(Render(body, null, list));
        }
        foreach (var v in volumes)
        {
            rows.Add(Render(body, v, list));
        }
        if (!table)
        {
            foreach (var r in rows)
            {
                output.WriteLine(r);
            }
            return;
        }
        Align(output, rows);
    }

    /// <summary>Go's tabwriter as docker sets it up: minimum width 10, padding 3.</summary>
    private static void Align(TextWriter output, List<string> rows)
    {
        var cells = rows.Select(r => r.Split('\t')).ToList();
        int columns = cells.Max(c => c.Length);
        var widths = new int[columns];
        foreach (var c in cells)
        {
            for (int i = 0; i < c.Length - 1; i++)
            {
                widths[i] = Math.Max(widths[i], Math.Max(10, c[i].Length + 3));
            }
        }
        var sb = new StringBuilder();
        foreach (var c in cells)
        {
            sb.Clear();
            for (int i = 0; i < c.Length; i++)
            {
                sb.Append(i == c.Length - 1 ? c[i] : c[i].PadRight(widths[i]));
            }
            output.WriteLine(sb.ToString().TrimEnd());
        }
    }

    /// <summary>One volume through the template (null: the table header).</summary>
    private static string Render(string template, VolumeRecord? v, bool list)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < template.Length)
        {
            int open = template.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0)
            {
                sb.Append(template, i, template.Length - i);
                break;
            }
            sb.Append(template, i, open - i);
            int close = template.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0)
            {
                throw SkiffException.Invalid($"template parsing error: template: :1: unclosed action");
            }
            string action = template[(open + 2)..close].Trim().Trim('-').Trim();
            sb.Append(v is null ? Header(action) : Action(action, v, list));
            i = close + 2;
        }
        return sb.ToString();
    }

    private static string Header(string action)
    {
        string field = action.StartsWith('.') ? action[1..].Split(' ')[0] : action;
        return Headers.TryGetValue(field, out var h) ? h : field.ToUpperInvariant();
    }

    private static string Action(string action, VolumeRecord v, bool list)
    {
        string[] words = action.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words is ["json", "."])
        {
            if (list)
            {
                return Json(ListFields(v));
            }
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                WriteVolume(w, v);
            }
            return Encoding.UTF8.GetString(ms.ToArray());
        }
        if (words is ["json", var f] && f.StartsWith('.'))
        {
            return f[1..] is "Labels" or "Options" ? MapJson(f[1..] == "Labels" ? v.Labels : v.Options) : JsonString(Field(f[1..], v, list));
        }
        string? labelKey = words switch
        {
            [".Label", var k1] => k1,
            ["index", ".Labels", var k2] => k2,
            _ => null,
        };
        if (labelKey is not null)
        {
            string k = labelKey.Trim('"');
            return v.Labels is not null && v.Labels.TryGetValue(k, out var value) ? value : "";
        }
        if (words is ["index", ".Options", var opt])
        {
            return v.Options is not null && v.Options.TryGetValue(opt.Trim('"'), out var value) ? value : "";
        }
        if (words is [var field] && field.StartsWith('.'))
        {
            return Field(field[1..], v, list);
        }
        throw SkiffException.Invalid($"template: unsupported action {{{{{action}}}}}: skiff supports {{{{.Field}}}}, {{{{json .}}}}, {{{{json .Field}}}}, {{{{.Label \"key\"}}}} and {{{{index .Labels \"key\"}}}}");
    }

    private static string JsonString(string value)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStringValue(value);
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static string MapJson(Dictionary<string, string>? map)
    {
        if (map is null)
        {
            return "null";
        }
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            foreach (var (k, val) in map.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteString(k, val);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>A field as Go prints it: maps as map[k:v], lists' fields as the ls formatter shows them.</summary>
    private static string Field(string name, VolumeRecord v, bool list) => name switch
    {
        "Name" => v.Name,
        "Driver" => v.Driver,
        "Mountpoint" => v.Mountpoint,
        "Scope" => v.Scope,
        "CreatedAt" => v.CreatedAt,
        "Labels" => list ? JoinLabels(v.Labels) : GoMap(v.Labels),
        "Options" => GoMap(v.Options),
        "Links" or "Size" or "Group" or "Availability" or "Status" when list => "N/A",
        _ => throw SkiffException.Invalid($"template: :1:2: executing \"\" at <.{name}>: can't evaluate field {name} in type {(list ? "*formatter.volumeContext" : "volume.Volume")}"),
    };

    private static string GoMap(Dictionary<string, string>? map) =>
        "map[" + string.Join(' ', (map ?? []).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + ":" + kv.Value)) + "]";
}
