using System.Globalization;
using System.Text.Json.Serialization;
using Skiff.Images;

namespace Skiff.Engine.Containers;

/// <summary>What `ps` and GET /containers/json ask for.</summary>
public sealed class ContainerListOptions
{
    /// <summary>-a: stopped containers too (a limit, a status filter, before or since imply it, as in Docker).</summary>
    public bool All { get; init; }
    /// <summary>-n: the N most recently created; 0 or less for no limit.</summary>
    public int Limit { get; init; }
    /// <summary>-s: SizeRw and SizeRootFs.</summary>
    public bool Size { get; init; }
    public ContainerFilters Filters { get; init; } = ContainerFilters.None;
}

/// <summary>The images a listing needs to know about: which id a name means now, and sizes.</summary>
public interface IImageLookup
{
    /// <summary>The sha256:… id the reference names in the store now, or null.</summary>
    string? ResolveId(string reference);
    long Size(string imageId);
}

/// <summary>An IImageLookup over the image store's index, read once.</summary>
public sealed class StoreImageLookup(ImageStore store) : IImageLookup
{
    private ImageIndexFile? _index;

    private ImageIndexFile Index => _index ??= ReadOrEmpty();

    private ImageIndexFile ReadOrEmpty()
    {
        try
        {
            return store.ReadIndex();
        }
        catch (Exception e) when (e is SkiffException or IOException or UnauthorizedAccessException)
        {
            return new ImageIndexFile();
        }
    }

    public string? ResolveId(string reference)
    {
        if (reference.Length == 0)
        {
            return null;
        }
        try
        {
            return ImageStore.Find(Index, reference)?.Id;
        }
        catch (SkiffException)
        {
            return null;
        }
    }

    public long Size(string imageId) => Index.Images.FirstOrDefault(i => i.Id == imageId)?.Size ?? 0;
}

/// <summary>
/// `ps` and GET /containers/json: Docker's container list (daemon/list.go), newest first,
/// as Docker's Summary objects. The CLI formats them the way the docker CLI does.
/// </summary>
public static class ContainerList
{
    public static readonly IReadOnlySet<string> AcceptedFilters = new HashSet<string>(StringComparer.Ordinal)
    {
        "ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task",
        "label", "name", "network", "publish", "since", "status", "volume",
    };

    private static readonly HashSet<string> States = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

    public static List<ContainerSummary> List(ContainerStore store, ContainerListOptions options, IImageLookup? images = null, DateTime? nowUtc = null)
    {
        var f = options.Filters;
        f.Validate(AcceptedFilters);
        var now = nowUtc ?? DateTime.UtcNow;
        bool all = options.All;
        var exited = new List<int>();
        foreach (var v in f.Values("exited"))
        {
            exited.Add(int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int code)
                ? code
                : throw SkiffException.Invalid($"invalid filter 'exited={v}'"));
        }
        foreach (var v in f.Values("status"))
        {
            if (!States.Contains(v))
            {
                throw SkiffException.Invalid($"invalid filter 'status={v}'");
            }
            all = true;
        }
        string? before = f.Values("before") is [.., var b] ? store.Resolve(b) : null;
        string? since = f.Values("since") is [.., var s] ? store.Resolve(s) : null;
        HashSet<string>? ancestors = null;
        if (f.Has("ancestor"))
        {
            ancestors = [];
            foreach (var a in f.Values("ancestor"))
            {
                if (images?.ResolveId(a) is { } id)
                {
                    ancestors.Add(id);
                }
            }
        }

        var defs = store.List();
        defs.Reverse();
        var result = new List<ContainerSummary>();
        foreach (var def in defs)
        {
            ContainerState state;
            try
            {
                state = store.State(def.Id);
            }
            catch (SkiffException e) when (e.Category == ErrorCategory.NotFound)
            {
                continue;
            }
            if (!state.Running && !all && options.Limit <= 0 && before is null && since is null)
            {
                continue;
            }
            if (!f.Match("name", "/" + def.Name) || !f.Match("id", def.Id) || !f.MatchLabels("label", def.Config.Labels))
            {
                continue;
            }
            if (before is not null)
            {
                if (def.Id == before)
                {
                    before = null;
                }
                continue;
            }
            if (since is not null && def.Id == since)
            {
                break;
            }
            if (options.Limit > 0 && result.Count == options.Limit)
            {
                break;
            }
            if (exited.Count > 0 && (state.Running || !exited.Contains(state.ExitCode)))
            {
                continue;
            }
            string stateName = ContainerStatusText.StateName(state);
            if (!f.ExactMatch("status", stateName) || !f.ExactMatch("health", "none") || !f.ExactMatch("is-task", "false"))
            {
                continue;
            }
            if (ancestors is not null && !ancestors.Contains(def.ImageId))
            {
                continue;
            }
            var summary = Summarize(store, def, state, images, now);
            if (!MatchesNetworkAndMounts(f, summary) || !MatchesPorts(f, def, state.Running))
            {
                continue;
            }
            if (options.Size)
            {
                summary.SizeRw = DirectorySize(store.Dir(def.Id).Upper);
                summary.SizeRootFs = summary.SizeRw + (def.ImageId.Length > 0 && images is not null ? images.Size(def.ImageId) : 0);
            }
            result.Add(summary);
        }
        return result;
    }

    /// <summary>One container as Docker's Summary (daemon/container/view.go transform).</summary>
    public static ContainerSummary Summarize(ContainerStore store, ContainerDefinition def, ContainerState state, IImageLookup? images, DateTime nowUtc)
    {
        string image = def.Config.Image;
        if (def.ImageId.Length > 0 && image != def.ImageId && images is not null && images.ResolveId(image) != def.ImageId)
        {
            // The name now means another image (or none): Docker shows the id the container runs.
            image = def.ImageId;
        }
        var network = state.Running ? ContainerInspect.ReadNetwork(store, def.Id) : null;
        var ports = new List<PortSummary>();
        foreach (var (port, bindings) in ContainerInspect.Ports(def, state.Running, network))
        {
            var (number, proto) = ContainerInspect.SplitPort(port);
            if (bindings is not { Count: > 0 })
            {
                ports.Add(new PortSummary { PrivatePort = number, Type = proto });
                continue;
            }
            foreach (var b in bindings)
            {
                string host = b.HostPort;
                int dash = host.IndexOf('-');
                ushort.TryParse(dash < 0 ? host : host[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out ushort pub);
                ports.Add(new PortSummary { IP = b.HostIp, PrivatePort = number, PublicPort = pub, Type = proto });
            }
        }
        return new ContainerSummary
        {
            Id = def.Id,
            Names = ["/" + def.Name],
            Image = image,
            ImageID = def.ImageId,
            Command = ContainerStatusText.Command(def),
            Created = ContainerState.ParseTime(def.Created) is { } created ? new DateTimeOffset(created, TimeSpan.Zero).ToUnixTimeSeconds() : 0,
            Ports = ports,
            Labels = def.Config.Labels ?? [],
            State = ContainerStatusText.StateName(state),
            Status = ContainerStatusText.Status(state, nowUtc),
            HostConfig = new SummaryHostConfig { NetworkMode = ContainerInspect.NetworkModeName(def.HostConfig.NetworkMode) },
            NetworkSettings = new SummaryNetworkSettings { Networks = ContainerInspect.Networks(def, state.Running, network) },
            Mounts = ContainerInspect.Mounts(store, def),
        };
    }

    private static bool MatchesNetworkAndMounts(ContainerFilters f, ContainerSummary c)
    {
        if (f.Has("network") && !f.Values("network").Any(n => c.NetworkSettings.Networks.ContainsKey(n)))
        {
            return false;
        }
        return !f.Has("volume") || f.Values("volume").Any(v => c.Mounts.Any(m => m.Name == v || m.Source == v || m.Destination == v));
    }

    /// <summary>publish= (a published container port) and expose= (an exposed or published one): "80", "80/udp", "8000-8080/tcp".</summary>
    private static bool MatchesPorts(ContainerFilters f, ContainerDefinition def, bool running)
    {
        if (f.Has("publish") && !f.Values("publish").Any(v => PortIn(v, def.HostConfig.PortBindings?.Keys)))
        {
            return false;
        }
        if (f.Has("expose"))
        {
            var exposed = (def.Config.ExposedPorts?.Keys ?? Enumerable.Empty<string>()).Concat(def.HostConfig.PortBindings?.Keys ?? Enumerable.Empty<string>());
            if (!f.Values("expose").Any(v => PortIn(v, exposed)))
            {
                return false;
            }
        }
        return true;
    }

    private static bool PortIn(string filter, IEnumerable<string>? ports)
    {
        if (ports is null)
        {
            return false;
        }
        var (range, proto) = filter.Contains('/') ? (filter[..filter.IndexOf('/')], filter[(filter.IndexOf('/') + 1)..]) : (filter, "tcp");
        int dash = range.IndexOf('-');
        if (!int.TryParse(dash < 0 ? range : range[..dash], CultureInfo.InvariantCulture, out int lo)
            || !int.TryParse(dash < 0 ? range : range[(dash + 1)..], CultureInfo.InvariantCulture, out int hi))
        {
            throw SkiffException.Invalid($"invalid filter: invalid port: {filter}");
        }
        foreach (var p in ports)
        {
            var (n, t) = ContainerInspect.SplitPort(p);
            if (t == proto && n >= lo && n <= hi)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Bytes in the files under a directory; what cannot be read is not counted.</summary>
    public static long DirectorySize(string path)
    {
        if (!Directory.Exists(path))
        {
            return 0;
        }
        long total = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
        try
        {
            foreach (var file in new DirectoryInfo(path).EnumerateFiles("*", options))
            {
                if (file.LinkTarget is null)
                {
                    total += file.Length;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return total;
    }
}

/// <summary>Docker's container.Summary, the element of GET /containers/json.</summary>
public sealed class ContainerSummary
{
    public string Id { get; set; } = "";
    public List<string> Names { get; set; } = [];
    public string Image { get; set; } = "";
    public string ImageID { get; set; } = "";
    public string Command { get; set; } = "";
    /// <summary>Unix seconds.</summary>
    public long Created { get; set; }
    public List<PortSummary> Ports { get; set; } = [];
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? SizeRw { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? SizeRootFs { get; set; }
    public Dictionary<string, string> Labels { get; set; } = [];
    public string State { get; set; } = "";
    public string Status { get; set; } = "";
    public SummaryHostConfig HostConfig { get; set; } = new();
    public SummaryNetworkSettings NetworkSettings { get; set; } = new();
    public List<ContainerMount> Mounts { get; set; } = [];
}

public sealed class PortSummary
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? IP { get; set; }
    public ushort PrivatePort { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ushort PublicPort { get; set; }
    public string Type { get; set; } = "tcp";
}

public sealed class SummaryHostConfig
{
    public string NetworkMode { get; set; } = "";
}

public sealed class SummaryNetworkSettings
{
    public Dictionary<string, EndpointSettings> Networks { get; set; } = [];
}
