using System.Globalization;
using System.Text.Json.Nodes;
using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>
/// skiff stats [--no-stream] [-a] [--no-trunc] [--format F] [CONTAINER...]: docker stats's
/// table, computed from Docker's stats objects the way the docker CLI computes it.
/// </summary>
public static class StatsCommand
{
    private static readonly FlagSpec[] Flags =
    [
        FlagSpec.Bool("all", 'a', "Show all containers (default shows just running)"),
        FlagSpec.Value("format", FlagSpec.NoShort, "string", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template"),
        FlagSpec.Bool("no-stream", FlagSpec.NoShort, "Disable streaming stats and only pull the first result"),
        FlagSpec.Bool("no-trunc", FlagSpec.NoShort, "Do not truncate output"),
        FlagSpec.Bool("help", FlagSpec.NoShort, "Print usage"),
    ];

    public const string DefaultFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

    public static int Execute(CliContext context, string[] args)
    {
        var p = FlagParser.Parse(Flags, args, interspersed: true);
        if (p.Bool("help"))
        {
            Console.Out.Write(HelpText.For("skiff stats [OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics", Flags));
            return 0;
        }
        var format = StatsFormat.Parse(p.Value("format") ?? "table");
        var store = ContainerTargets.Store(context);
        bool named = p.Positionals.Count > 0;
        bool trunc = !p.Bool("no-trunc");
        bool stream = !p.Bool("no-stream");
        using var cancel = new CancellationTokenSource();
        if (stream)
        {
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                cancel.Cancel();
            };
        }
        while (true)
        {
            List<(string Container, ContainerStatsJson Stats)> sampled;
            try
            {
                sampled = Sample(store, named ? p.Positionals : null, p.Bool("all"));
            }
            catch (SkiffException e)
            {
                return CliErrors.Daemon(e);
            }
            var entries = sampled.Select(s => StatsEntry.From(s.Container, s.Stats)).ToList();
            string text = format.Render(entries, trunc);
            if (stream)
            {
                // The docker CLI clears the screen before each refresh.
                Console.Out.Write("\u001b[2J\u001b[H");
            }
            Console.Out.Write(text);
            Console.Out.Flush();
            if (!stream || (named && entries.Count == 0) || cancel.IsCancellationRequested)
            {
                return 0;
            }
            cancel.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(300));
            if (cancel.IsCancellationRequested)
            {
                return 0;
            }
        }
    }

    /// <summary>The named containers (each name as given), or the running ones (all with -a), newest first, by short id.</summary>
    private static List<(string, ContainerStatsJson)> Sample(ContainerStore store, IReadOnlyList<string>? names, bool all)
    {
        List<string> containers;
        if (names is not null)
        {
            containers = [.. names];
        }
        else
        {
            containers = [];
            var defs = store.List();
            for (int i = defs.Count - 1; i >= 0; i--)
            {
                if (all || store.State(defs[i].Id).Running)
                {
                    containers.Add(defs[i].Id[..12]);
                }
            }
        }
        // Every name is looked up first: the docker CLI reports all the missing ones together.
        var errors = new List<string>();
        foreach (var c in containers)
        {
            try
            {
                store.Resolve(c);
            }
            catch (SkiffException e)
            {
                errors.Add(e.Message);
            }
        }
        if (errors.Count > 0)
        {
            throw new SkiffException(ErrorCategory.NotFound, string.Join("\nError response from daemon: ", errors));
        }
        var found = containers;
        var stats = ContainerStats.Collect(store, found, ContainerStats.DefaultInterval);
        return found.Zip(stats).Select(z => (z.First, z.Second)).ToList();
    }
}

/// <summary>One row of docker stats, computed from a stats object as the docker CLI computes it.</summary>
public sealed record StatsEntry
{
    public string Container { get; init; } = "";
    public string Name { get; init; } = "";
    public string Id { get; init; } = "";
    public double CpuPercentage { get; init; }
    public double Memory { get; init; }
    public double MemoryLimit { get; init; }
    public double MemoryPercentage { get; init; }
    public double NetworkRx { get; init; }
    public double NetworkTx { get; init; }
    public double BlockRead { get; init; }
    public double BlockWrite { get; init; }
    public long PidsCurrent { get; init; }

    public static StatsEntry From(string container, ContainerStatsJson v)
    {
        double mem = MemoryWithoutCache(v.MemoryStats);
        double limit = v.MemoryStats.Limit;
        ulong read = 0, write = 0;
        foreach (var e in v.BlkioStats.IoServiceBytesRecursive ?? [])
        {
            switch (e.Op.Length > 0 ? char.ToLowerInvariant(e.Op[0]) : ' ')
            {
                case 'r':
                    read += (ulong)e.Value;
                    break;
                case 'w':
                    write += (ulong)e.Value;
                    break;
            }
        }
        double rx = 0, tx = 0;
        foreach (var n in (v.Networks ?? []).Values)
        {
            rx += n.RxBytes;
            tx += n.TxBytes;
        }
        return new StatsEntry
        {
            Container = container,
            Name = v.Name,
            Id = v.Id,
            CpuPercentage = CpuPercent(v.PreCpuStats, v.CpuStats),
            Memory = mem,
            MemoryLimit = limit,
            MemoryPercentage = limit != 0 ? mem / limit * 100.0 : 0,
            NetworkRx = rx,
            NetworkTx = tx,
            BlockRead = read,
            BlockWrite = write,
            PidsCurrent = v.PidsStats.Current,
        };
    }

    /// <summary>The docker CLI's calculateCPUPercentUnix.</summary>
    public static double CpuPercent(CpuStats previous, CpuStats current)
    {
        double cpuDelta = (double)current.CpuUsage.TotalUsage - previous.CpuUsage.TotalUsage;
        double systemDelta = (double)current.SystemCpuUsage - previous.SystemCpuUsage;
        double cpus = current.OnlineCpus != 0 ? current.OnlineCpus : current.CpuUsage.PercpuUsage?.Count ?? 0;
        return systemDelta > 0 && cpuDelta > 0 ? cpuDelta / systemDelta * cpus * 100.0 : 0;
    }

    /// <summary>The docker CLI's calculateMemUsageUnixNoCache: usage less the inactive page cache.</summary>
    public static double MemoryWithoutCache(MemoryStats m)
    {
        var stats = m.Stats ?? [];
        if (stats.TryGetValue("total_inactive_file", out ulong v1) && v1 < m.Usage)
        {
            return m.Usage - v1;
        }
        if (stats.TryGetValue("inactive_file", out ulong v2) && v2 < m.Usage)
        {
            return m.Usage - v2;
        }
        return m.Usage;
    }

    public string Field(string name, bool trunc) => name switch
    {
        "Container" => Container,
        "Name" => Name.Length > 1 ? Name[1..] : "--",
        "ID" => trunc && Id.Length > 12 ? Id[..12] : Id,
        "CPUPerc" => Percent(CpuPercentage),
        "MemUsage" => Units.BytesSize(Memory) + " / " + Units.BytesSize(MemoryLimit),
        "MemPerc" => Percent(MemoryPercentage),
        "NetIO" => Units.HumanSize(NetworkRx) + " / " + Units.HumanSize(NetworkTx),
        "BlockIO" => Units.HumanSize(BlockRead) + " / " + Units.HumanSize(BlockWrite),
        "PIDs" => PidsCurrent.ToString(CultureInfo.InvariantCulture),
        _ => throw new KeyNotFoundException(name),
    };

    public static readonly string[] FieldNames = ["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"];

    public static string Header(string name) => name switch
    {
        "Container" => "CONTAINER",
        "Name" => "NAME",
        "ID" => "CONTAINER ID",
        "CPUPerc" => "CPU %",
        "MemUsage" => "MEM USAGE / LIMIT",
        "MemPerc" => "MEM %",
        "NetIO" => "NET I/O",
        "BlockIO" => "BLOCK I/O",
        "PIDs" => "PIDS",
        _ => name.ToUpperInvariant(),
    };

    private static string Percent(double v) => v.ToString("F2", CultureInfo.InvariantCulture) + "%";
}

/// <summary>
/// --format for stats: "table" (Docker's default columns), "table TEMPLATE", "json" (one
/// object per line, keys in Go's order) or any Go template (GoTemplate) over the row's fields.
/// </summary>
public sealed class StatsFormat
{
    private readonly GoTemplate _template;

    private StatsFormat(bool table, GoTemplate template)
    {
        Table = table;
        _template = template;
    }

    public bool Table { get; }

    public static StatsFormat Parse(string format)
    {
        if (format == "json")
        {
            format = "{{json .}}";
        }
        else if (format == "table")
        {
            format = StatsCommand.DefaultFormat;
        }
        bool table = format.StartsWith("table ", StringComparison.Ordinal);
        if (table)
        {
            format = format["table".Length..];
        }
        return new StatsFormat(table, GoTemplate.Parse(GoTemplate.Unescape(format.Trim(' '))));
    }

    public string Render(IReadOnlyList<StatsEntry> entries, bool trunc)
    {
        var lines = new List<string>();
        if (Table)
        {
            var headers = new JsonObject();
            foreach (var name in StatsEntry.FieldNames)
            {
                headers[name] = StatsEntry.Header(name);
            }
            lines.Add(_template.Execute(headers, header: true));
        }
        foreach (var e in entries)
        {
            var fields = new JsonObject();
            foreach (var name in StatsEntry.FieldNames)
            {
                fields[name] = e.Field(name, trunc);
            }
            lines.Add(_template.Execute(fields));
        }
        if (!Table)
        {
            return string.Concat(lines.Select(l => l + "\n"));
        }
        // Cells are tab-separated; the docker CLI lines them up with a tabwriter (min 10, padding 3).
        var rows = lines.Select(l => (IReadOnlyList<string>)l.Split('\t')).ToList();
        return TabTable.Format(rows, minWidth: 10, padding: 3);
    }
}

/// <summary>go-units' sizes as the docker CLI prints them.</summary>
public static class Units
{
    private static readonly string[] Decimal = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    private static readonly string[] Binary = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

    /// <summary>HumanSizeWithPrecision(size, 3): "1.23kB".</summary>
    public static string HumanSize(double size) => Custom(size, 1000, Decimal, 3);

    /// <summary>BytesSize: "%.4g" in binary units, "1.359MiB".</summary>
    public static string BytesSize(double size) => Custom(size, 1024, Binary, 4);

    private static string Custom(double size, double unitBase, string[] units, int precision)
    {
        int i = 0;
        while (size >= unitBase && i < units.Length - 1)
        {
            size /= unitBase;
            i++;
        }
        return GoG(size, precision) + units[i];
    }

    /// <summary>Go's %.Ng: shortest of fixed and exponent form, trailing zeros dropped, "1e+03".</summary>
    public static string GoG(double v, int precision)
    {
        string s = v.ToString("G" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        int e = s.IndexOf('E');
        if (e < 0)
        {
            return s;
        }
        string exponent = s[(e + 1)..];
        char sign = exponent[0] is '+' or '-' ? exponent[0] : '+';
        string digits = exponent.TrimStart('+', '-').TrimStart('0');
        return s[..e] + "e" + sign + digits.PadLeft(2, '0');
    }
}
