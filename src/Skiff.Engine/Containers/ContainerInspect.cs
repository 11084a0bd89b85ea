using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Skiff.Engine.Volumes;

namespace Skiff.Engine.Containers;

/// <summary>
/// `inspect` and GET /containers/{id}/json: Docker's InspectResponse for one container.
/// Config and State are always there: the docker CLI dereferences both without a check.
/// </summary>
public static class ContainerInspect
{
    /// <param name="size">Fill SizeRw and SizeRootFs (the writable layer, and it with the image's layers: `images` gives their size).</param>
    public static ContainerInspectResponse Inspect(ContainerStore store, string id, bool size = false, IImageLookup? images = null)
    {
        var def = store.Load(id);
        var state = store.State(id);
        var dir = store.Dir(id);
        var network = state.Running ? ReadNetwork(store, id) : null;
        string stateName = ContainerStatusText.StateName(state);
        bool running = state.Running;
        var config = def.Config;
        if (config.Hostname.Length == 0)
        {
            // Docker records the hostname it gives the container: the short id.
            config = Copy(config);
            config.Hostname = def.Id[..Math.Min(12, def.Id.Length)];
        }
        var response = new ContainerInspectResponse
        {
            Id = def.Id,
            Created = def.Created,
            Path = def.Path,
            Args = def.Args,
            State = new InspectState
            {
                Status = stateName,
                Running = running,
                Paused = state.Status == "paused",
                Restarting = state.Status == "restarting",
                OOMKilled = state.OOMKilled || (state.Status == "exited" && ContainerCgroup.OomKilledAfterExit(def)),
                Dead = state.Status == "dead",
                Pid = running ? state.Pid : 0,
                ExitCode = state.ExitCode,
                Error = state.Error,
                StartedAt = state.StartedAt,
                FinishedAt = state.FinishedAt,
            },
            Image = def.ImageId,
            ResolvConfPath = System.IO.Path.Combine(dir.Path, "resolv.conf"),
            HostnamePath = System.IO.Path.Combine(dir.Path, "hostname"),
            HostsPath = System.IO.Path.Combine(dir.Path, "hosts"),
            LogPath = def.HostConfig.LogConfig.Type is "none" ? "" : LogReader.LogPath(store, id),
            Name = "/" + def.Name,
            RestartCount = state.RestartCount,
            HostConfig = def.HostConfig,
            GraphDriver = new GraphDriverData
            {
                Data = new Dictionary<string, string>
                {
                    ["LowerDir"] = string.Join(':', def.Layers),
                    ["MergedDir"] = dir.RootFs,
                    ["UpperDir"] = dir.Upper,
                    ["WorkDir"] = dir.Work,
                },
            },
            Mounts = Mounts(store, def),
            Config = config,
            NetworkSettings = Settings(def, running, network),
        };
        if (size)
        {
            response.SizeRw = ContainerList.DirectorySize(dir.Upper);
            response.SizeRootFs = response.SizeRw + (def.ImageId.Length > 0 && images is not null ? images.Size(def.ImageId) : 0);
        }
        return response;
    }

    private static ContainerConfig Copy(ContainerConfig c) =>
        JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(c, ContainerJson.Default.ContainerConfig), ContainerJson.Default.ContainerConfig)!;

    private static InspectNetworkSettings Settings(ContainerDefinition def, bool running, ContainerNetworkRecord? network)
    {
        var networks = Networks(def, running, network);
        var settings = new InspectNetworkSettings
        {
            SandboxKey = running ? network?.SandboxKey ?? "" : "",
            Ports = Ports(def, running, network),
            Networks = networks,
        };
        if (networks.Values.FirstOrDefault() is { } e)
        {
            settings.Gateway = e.Gateway;
            settings.IPAddress = e.IPAddress;
            settings.IPPrefixLen = e.IPPrefixLen;
            settings.MacAddress = e.MacAddress;
        }
        return settings;
    }

    /// <summary>Docker's names for skiff's modes: the private network is Docker's default "bridge".</summary>
    public static string NetworkModeName(string mode) => mode is "" or "default" or "private" or "bridge" ? "bridge" : mode;

    /// <summary>The container's one network, with its address while it runs.</summary>
    public static Dictionary<string, EndpointSettings> Networks(ContainerDefinition def, bool running, ContainerNetworkRecord? network)
    {
        string name = NetworkModeName(def.HostConfig.NetworkMode);
        if (name is "none" || name.StartsWith("container:", StringComparison.Ordinal))
        {
            return name is "none" ? new() { ["none"] = new EndpointSettings() } : [];
        }
        var e = new EndpointSettings { NetworkID = name };
        if (running && network is not null && name != "host")
        {
            e.IPAddress = network.IPAddress;
            e.IPPrefixLen = network.IPPrefixLen;
            e.Gateway = network.Gateway;
            e.MacAddress = network.MacAddress;
        }
        return new() { [name] = e };
    }

    /// <summary>
    /// NetworkSettings.Ports: while it runs, each published port with its bindings and each
    /// exposed one with null (Docker's shape); what the network helper recorded wins.
    /// </summary>
    public static Dictionary<string, List<PortBinding>?> Ports(ContainerDefinition def, bool running, ContainerNetworkRecord? network)
    {
        var ports = new Dictionary<string, List<PortBinding>?>(StringComparer.Ordinal);
        if (!running || NetworkModeName(def.HostConfig.NetworkMode) is "none" or "host")
        {
            return ports;
        }
        foreach (var p in def.Config.ExposedPorts?.Keys ?? Enumerable.Empty<string>())
        {
            ports[NormalizePort(p)] = null;
        }
        if (network?.Ports is { } recorded)
        {
            foreach (var (p, b) in recorded)
            {
                ports[NormalizePort(p)] = b;
            }
            return ports;
        }
        foreach (var (p, bindings) in def.HostConfig.PortBindings ?? [])
        {
            ports[NormalizePort(p)] = bindings.Select(b => new PortBinding
            {
                HostIp = b.HostIp.Length == 0 ? "0.0.0.0" : b.HostIp,
                HostPort = b.HostPort,
            }).ToList();
        }
        return ports;
    }

    private static string NormalizePort(string p) => p.Contains('/') ? p : p + "/tcp";

    /// <summary>"80/tcp" → (80, "tcp").</summary>
    public static (ushort Port, string Proto) SplitPort(string p)
    {
        int slash = p.IndexOf('/');
        string num = slash < 0 ? p : p[..slash];
        int dash = num.IndexOf('-');
        ushort.TryParse(dash < 0 ? num : num[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out ushort n);
        return (n, slash < 0 ? "tcp" : p[(slash + 1)..]);
    }

    /// <summary>DIR/network.json, written by the network setup while the container runs (optional).</summary>
    public static ContainerNetworkRecord? ReadNetwork(ContainerStore store, string id)
    {
        string path = System.IO.Path.Combine(store.Dir(id).Path, "network.json");
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), ContainerInspectJson.Default.ContainerNetworkRecord);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Docker's Mounts: the resolved list the container was created with (DIR/mounts.json)
    /// if there is one, else what -v, --mount and --tmpfs asked for.
    /// </summary>
    public static List<ContainerMount> Mounts(ContainerStore store, ContainerDefinition def)
    {
        var result = new List<ContainerMount>();
        string resolved = System.IO.Path.Combine(store.Dir(def.Id).Path, "mounts.json");
        if (File.Exists(resolved))
        {
            try
            {
                foreach (var m in JsonSerializer.Deserialize(File.ReadAllBytes(resolved), VolumeJson.Default.ListMountPoint) ?? [])
                {
                    result.Add(new ContainerMount
                    {
                        Type = m.Type,
                        Name = m.Name.Length == 0 ? null : m.Name,
                        Source = m.Source,
                        Destination = m.Destination,
                        Driver = m.Driver.Length == 0 ? null : m.Driver,
                        Mode = m.Mode,
                        RW = m.RW,
                        Propagation = m.Propagation,
                    });
                }
                return result;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                result.Clear();
            }
        }
        string volumes = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(store.Root)!, "volumes");
        foreach (var bind in def.HostConfig.Binds ?? [])
        {
            var parts = bind.Split(':');
            if (parts.Length < 2)
            {
                result.Add(new ContainerMount { Type = "volume", Destination = parts[0], Driver = "local" });
                continue;
            }
            string mode = parts.Length > 2 ? parts[2] : "";
            bool rw = !mode.Split(',').Contains("ro");
            if (parts[0].StartsWith('/'))
            {
                string propagation = mode.Split(',').FirstOrDefault(o => o is "private" or "rprivate" or "shared" or "rshared" or "slave" or "rslave") ?? "rprivate";
                result.Add(new ContainerMount { Type = "bind", Source = parts[0], Destination = parts[1], Mode = mode, RW = rw, Propagation = propagation });
            }
            else
            {
                result.Add(new ContainerMount
                {
                    Type = "volume", Name = parts[0], Source = System.IO.Path.Combine(volumes, parts[0], "_data"), Destination = parts[1],
                    Driver = "local", Mode = mode.Length == 0 ? "z" : mode, RW = rw,
                });
            }
        }
        foreach (var m in def.HostConfig.Mounts ?? [])
        {
            result.Add(m.Type switch
            {
                "bind" => new ContainerMount { Type = "bind", Source = m.Source, Destination = m.Target, RW = !m.ReadOnly, Propagation = m.BindOptions?.Propagation ?? "rprivate" },
                "volume" => new ContainerMount
                {
                    Type = "volume", Name = m.Source.Length == 0 ? null : m.Source,
                    Source = m.Source.Length == 0 ? "" : System.IO.Path.Combine(volumes, m.Source, "_data"),
                    Destination = m.Target, Driver = "local", Mode = "z", RW = !m.ReadOnly,
                },
                _ => new ContainerMount { Type = m.Type, Destination = m.Target, RW = !m.ReadOnly },
            });
        }
        return result;
    }
}

/// <summary>Docker's container.InspectResponse, in Docker's field order.</summary>
public sealed class ContainerInspectResponse
{
    public string Id { get; set; } = "";
    public string Created { get; set; } = "";
    public string Path { get; set; } = "";
    public List<string> Args { get; set; } = [];
    public InspectState State { get; set; } = new();
    public string Image { get; set; } = "";
    public string ResolvConfPath { get; set; } = "";
    public string HostnamePath { get; set; } = "";
    public string HostsPath { get; set; } = "";
    public string LogPath { get; set; } = "";
    public string Name { get; set; } = "";
    public int RestartCount { get; set; }
    public string Driver { get; set; } = "overlay";
    public string Platform { get; set; } = "linux";
    public string MountLabel { get; set; } = "";
    public string ProcessLabel { get; set; } = "";
    public string AppArmorProfile { get; set; } = "";
    public List<string>? ExecIDs { get; set; }
    public HostConfig HostConfig { get; set; } = new();
    public GraphDriverData GraphDriver { get; set; } = new();
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? SizeRw { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? SizeRootFs { get; set; }
    public List<ContainerMount> Mounts { get; set; } = [];
    public ContainerConfig Config { get; set; } = new();
    public InspectNetworkSettings NetworkSettings { get; set; } = new();
}

public sealed class InspectState
{
    public string Status { get; set; } = "created";
    public bool Running { get; set; }
    public bool Paused { get; set; }
    public bool Restarting { get; set; }
    public bool OOMKilled { get; set; }
    public bool Dead { get; set; }
    public int Pid { get; set; }
    public int ExitCode { get; set; }
    public string Error { get; set; } = "";
    public string StartedAt { get; set; } = ContainerState.ZeroTime;
    public string FinishedAt { get; set; } = ContainerState.ZeroTime;
}

public sealed class GraphDriverData
{
    public Dictionary<string, string> Data { get; set; } = [];
    public string Name { get; set; } = "overlay";
}

/// <summary>Docker's MountPoint (inspect's Mounts, the list's Mounts).</summary>
public sealed class ContainerMount
{
    public string Type { get; set; } = "";
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; set; }
    public string Source { get; set; } = "";
    public string Destination { get; set; } = "";
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Driver { get; set; }
    public string Mode { get; set; } = "";
    public bool RW { get; set; } = true;
    public string Propagation { get; set; } = "";
}

public sealed class InspectNetworkSettings
{
    public string Bridge { get; set; } = "";
    public string SandboxID { get; set; } = "";
    public string SandboxKey { get; set; } = "";
    public Dictionary<string, List<PortBinding>?> Ports { get; set; } = [];
    public bool HairpinMode { get; set; }
    public string LinkLocalIPv6Address { get; set; } = "";
    public int LinkLocalIPv6PrefixLen { get; set; }
    public List<string>? SecondaryIPAddresses { get; set; }
    public List<string>? SecondaryIPv6Addresses { get; set; }
    public string EndpointID { get; set; } = "";
    public string Gateway { get; set; } = "";
    public string GlobalIPv6Address { get; set; } = "";
    public int GlobalIPv6PrefixLen { get; set; }
    public string IPAddress { get; set; } = "";
    public int IPPrefixLen { get; set; }
    public string IPv6Gateway { get; set; } = "";
    public string MacAddress { get; set; } = "";
    public Dictionary<string, EndpointSettings> Networks { get; set; } = [];
}

/// <summary>Docker's network.EndpointSettings.</summary>
public sealed class EndpointSettings
{
    public object? IPAMConfig { get; set; }
    public List<string>? Links { get; set; }
    public List<string>? Aliases { get; set; }
    public string MacAddress { get; set; } = "";
    public Dictionary<string, string>? DriverOpts { get; set; }
    public int GwPriority { get; set; }
    public string NetworkID { get; set; } = "";
    public string EndpointID { get; set; } = "";
    public string Gateway { get; set; } = "";
    public string IPAddress { get; set; } = "";
    public int IPPrefixLen { get; set; }
    public string IPv6Gateway { get; set; } = "";
    public string GlobalIPv6Address { get; set; } = "";
    public int GlobalIPv6PrefixLen { get; set; }
    public List<string>? DNSNames { get; set; }
}

/// <summary>
/// DIR/network.json: what the network setup learnt at start (the address pasta or
/// slirp4netns gave, host ports chosen for "-p 80"). Optional; inspect and ps read it.
/// </summary>
public sealed class ContainerNetworkRecord
{
    public string IPAddress { get; set; } = "";
    public int IPPrefixLen { get; set; }
    public string Gateway { get; set; } = "";
    public string MacAddress { get; set; } = "";
    public string? SandboxKey { get; set; }
    /// <summary>"80/tcp" → the host side as it was bound.</summary>
    public Dictionary<string, List<PortBinding>?>? Ports { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ContainerInspectResponse))]
[JsonSerializable(typeof(List<ContainerInspectResponse>))]
[JsonSerializable(typeof(ContainerSummary))]
[JsonSerializable(typeof(List<ContainerSummary>))]
[JsonSerializable(typeof(ContainerNetworkRecord))]
public sealed partial class ContainerInspectJson : JsonSerializerContext;
