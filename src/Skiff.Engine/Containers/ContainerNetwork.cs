using System.Globalization;
using Skiff.Runtime.Network;

namespace Skiff.Engine.Containers;

/// <summary>The one network setup the engine uses (pasta, else slirp4netns); tests substitute their own.</summary>
public static class Networks
{
    private static INetworkSetup? _setup;

    public static INetworkSetup Setup
    {
        get => _setup ??= PrivateNetwork.FromEnvironment();
        set => _setup = value;
    }
}

/// <summary>HostConfig's network settings as the runtime needs them.</summary>
public static class NetworkModes
{
    /// <summary>none, host or private ("", default, bridge, pasta, slirp4netns are private).</summary>
    public static string Normalize(string? mode) => mode switch
    {
        "none" => "none",
        "host" => "host",
        null or "" or "private" or "default" or "bridge" or "pasta" or "slirp4netns" => "private",
        _ => throw SkiffException.NotFound($"network {mode} not found"),
    };

    /// <summary>PortBindings ("80/tcp" → [{HostIp, HostPort}]) as mappings; "" host port: the kernel picks.</summary>
    public static List<PortMapping> Ports(HostConfig host)
    {
        var result = new List<PortMapping>();
        foreach (var (key, bindings) in host.PortBindings ?? [])
        {
            int slash = key.IndexOf('/');
            string portText = slash < 0 ? key : key[..slash];
            string proto = slash < 0 ? "tcp" : key[(slash + 1)..];
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int containerPort) || containerPort is < 1 or > 65535)
            {
                throw SkiffException.Invalid($"invalid containerPort: {portText}");
            }
            foreach (var b in bindings.Count == 0 ? [new PortBinding()] : bindings)
            {
                int hostPort = 0;
                if (b.HostPort.Length > 0 && (!int.TryParse(b.HostPort, NumberStyles.None, CultureInfo.InvariantCulture, out hostPort) || hostPort > 65535))
                {
                    throw SkiffException.Invalid($"invalid hostPort: {b.HostPort}");
                }
                result.Add(new PortMapping(b.HostIp, hostPort, containerPort, proto));
            }
        }
        return result;
    }
}

/// <summary>DIR/hostname, DIR/hosts and DIR/resolv.conf, written before each start and bound into the container.</summary>
public static class EtcFiles
{
    public static void Write(Runtime.ContainerDirectory dir, ContainerDefinition def, string hostname, string networkMode)
    {
        var hc = def.HostConfig;
        var extra = (hc.ExtraHosts ?? []).Select(HostsFile.ParseExtraHost).ToList();
        var dns = new DnsOverrides(hc.Dns ?? [], hc.DnsSearch ?? [], hc.DnsOptions ?? []);
        string hostResolv = ResolvConf.ReadHost();
        string hosts, resolv;
        switch (networkMode)
        {
            case "host":
                hosts = HostsFile.ForHostNetwork(ReadHostHosts(), extra, "127.0.0.1");
                resolv = ResolvConf.ForHostNetwork(hostResolv, dns);
                break;
            case "none":
                hosts = HostsFile.Build(hostname, def.Config.Domainname, null, extra, null);
                resolv = ResolvConf.ForNoNetwork(hostResolv, dns);
                break;
            default:
                // host-gateway: the host's own address, which the private network reaches (its loopback it does not).
                hosts = HostsFile.Build(hostname, def.Config.Domainname, PrivateNetwork.ContainerAddress, extra,
                    extra.Any(e => e.Address == HostsFile.HostGatewayName) ? HostRoutes.PrimaryAddress() : null);
                resolv = ResolvConf.ForPrivateNetwork(hostResolv, PrivateNetwork.NameserverAddress, dns);
                break;
        }
        SmallFile.Write(Path.Combine(dir.Path, "hostname"), System.Text.Encoding.UTF8.GetBytes(hostname + "\n"));
        SmallFile.Write(Path.Combine(dir.Path, "hosts"), System.Text.Encoding.UTF8.GetBytes(hosts));
        SmallFile.Write(Path.Combine(dir.Path, "resolv.conf"), System.Text.Encoding.UTF8.GetBytes(resolv));
    }

    private static string ReadHostHosts()
    {
        try
        {
            return File.ReadAllText("/etc/hosts");
        }
        catch (IOException)
        {
            return "127.0.0.1\tlocalhost\n";
        }
    }
}
