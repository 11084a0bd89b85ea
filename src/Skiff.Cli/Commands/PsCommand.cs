using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>skiff ps: Docker's table, -q ids, --format table/json/Go templates.</summary>
public static class PsCommand
{
    private const string DefaultTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
    private const string Usage = "skiff ps [OPTIONS]";

    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("all", 'a', "Show all containers (default shows just running)"),
        FlagSpec.List("filter", 'f', "filter", "Filter output based on conditions provided"),
        FlagSpec.Value("format", FlagSpec.NoShort, "string", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template"),
        FlagSpec.Value("last", 'n', "int", "Show n last created containers (includes all states) (default -1)"),
        FlagSpec.Bool("latest", 'l', "Show the latest created container (includes all states)"),
        FlagSpec.Bool("no-trunc", FlagSpec.NoShort, "Don't truncate output"),
        FlagSpec.Bool("quiet", 'q', "Only display container IDs"),
        FlagSpec.Bool("size", 's', "Display total file sizes"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    /// <summary>The header of each field docker's container formatter knows.</summary>
    private static readonly Dictionary<string, string> Headers = new(StringComparer.Ordinal)
    {
        ["ID"] = "CONTAINER ID", ["Names"] = "NAMES", ["Image"] = "IMAGE", ["Command"] = "COMMAND", ["CreatedAt"] = "CREATED AT",
        ["RunningFor"] = "CREATED", ["Ports"] = "PORTS", ["State"] = "STATE", ["Status"] = "STATUS", ["Size"] = "SIZE",
        ["Labels"] = "LABELS", ["Mounts"] = "MOUNTS", ["LocalVolumes"] = "LOCAL VOLUMES", ["Networks"] = "NETWORKS",
    };

    public static int Execute(CliContext context, string[] args) => ContainerVerb.Guard(() => Run(context, args));

    private static int Run(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For(Usage, "List containers", Flags));
            return 0;
        }
        ContainerVerb.None(p, "skiff ps", Usage);
        var filters = ContainerVerb.Filters(p);
        int last = -1;
        if (p.Value("last") is { } n && !int.TryParse(n, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out last))
        {
            throw new UsageException($"invalid argument \"{n}\" for \"-n, --last\" flag: strconv.ParseInt: parsing \"{n}\": invalid syntax");
        }
        if (p.Bool("latest"))
        {
            last = 1;
        }
        bool quiet = p.Bool("quiet");
        bool trunc = !p.Bool("no-trunc");
        string format = Format(p.Value("format") ?? "", quiet, p.Bool("size"));
        // Docker asks for sizes when the template shows them (json shows every field).
        bool size = p.Bool("size") || !quiet && format.Contains(".Size", StringComparison.Ordinal) || format == "{{json .}}";
        var store = ContainerTargets.Store(context);
        var images = new StoreImageLookup(ImageStores.ForReading(context));
        var now = DateTime.UtcNow;
        var list = ContainerList.List(store, new ContainerListOptions { All = p.Bool("all"), Limit = last, Size = size, Filters = filters }, images, now);
        Console.Out.Write(Render(list, format, trunc, now));
        return 0;
    }

    /// <summary>NewContainerFormat: quiet wins over a template; "table" alone is the default table.</summary>
    public static string Format(string source, bool quiet, bool size)
    {
        if (source is "" or "table")
        {
            return quiet ? "{{.ID}}" : size ? DefaultTable + "\t{{.Size}}" : DefaultTable;
        }
        if (quiet)
        {
            return "{{.ID}}";
        }
        return source == "json" ? "{{json .}}" : source;
    }

    /// <summary>The rows through the template: a table's header and columns aligned as Go's tabwriter aligns them.</summary>
    public static string Render(IReadOnlyList<ContainerSummary> list, string format, bool trunc, DateTime nowUtc)
    {
        bool table = format.StartsWith("table", StringComparison.Ordinal);
        string body = GoTemplate.Unescape((table ? format["table".Length..] : format).Trim(' '));
        var template = GoTemplate.Parse(body);
        var sb = new StringBuilder();
        if (table)
        {
            var header = new JsonObject();
            foreach (var (k, v) in Headers)
            {
                header[k] = v;
            }
            sb.Append(template.Execute(header, HeaderLabel, header: true)).Append('\n');
        }
        foreach (var c in list)
        {
            var row = Row(c, trunc, nowUtc);
            sb.Append(template.Execute(row, (receiver, name, args, out result) =>
            {
                result = null;
                if (name != "Label" || args.Count != 1)
                {
                    return false;
                }
                result = c.Labels.TryGetValue(GoTemplate.Print(args[0]), out var v) ? v : "";
                return true;
            })).Append('\n');
        }
        return table ? TableWriter.Format(sb.ToString()) : sb.ToString();
    }

    /// <summary>The header of {{.Label "com.example.vendor"}}: its last dotted part, dashes and underscores as spaces.</summary>
    private static bool HeaderLabel(object? receiver, string name, IReadOnlyList<object?> args, out object? result)
    {
        result = null;
        if (name != "Label" || args.Count != 1)
        {
            return false;
        }
        string label = GoTemplate.Print(args[0]);
        result = label[(label.LastIndexOf('.') + 1)..].Replace('-', ' ').Replace('_', ' ');
        return true;
    }

    /// <summary>One container as docker's ContainerContext shows it; the keys in the order json prints them.</summary>
    public static JsonObject Row(ContainerSummary c, bool trunc, DateTime nowUtc) => new()
    {
        ["Command"] = ContainerFormat.Command(c, trunc),
        ["CreatedAt"] = ContainerFormat.CreatedAt(c.Created),
        ["ID"] = trunc ? ContainerFormat.TruncateId(c.Id) : c.Id,
        ["Image"] = ContainerFormat.Image(c, trunc),
        ["Labels"] = ContainerFormat.Labels(c),
        ["LocalVolumes"] = ContainerFormat.LocalVolumes(c),
        ["Mounts"] = ContainerFormat.Mounts(c, trunc),
        ["Names"] = c.Names.Count > 0 ? c.Names[0].TrimStart('/') : "",
        ["Networks"] = ContainerFormat.Networks(c),
        ["Ports"] = ContainerFormat.Ports(c.Ports),
        ["RunningFor"] = ContainerFormat.RunningFor(c.Created, nowUtc),
        ["Size"] = ContainerFormat.Size(c),
        ["State"] = c.State,
        ["Status"] = c.Status,
    };
}
