using System.Globalization;
using Skiff.Cli.CommandLine;
using Skiff.Engine.Containers;
using Skiff.Runtime.Network;

namespace Skiff.Cli.Commands;

/// <summary>
/// -p and --expose as the docker CLI reads them (go-connections/nat): -p
/// [ip:][hostPort[-end]:]containerPort[-end][/proto] or published=…,target=…,protocol=…
/// (parsed by the runtime's PortSpec), each container port into PortBindings and
/// ExposedPorts as "80/tcp"; --expose port[-end][/proto] into ExposedPorts.
/// </summary>
public static class ContainerFlagsPorts
{
    public static (Dictionary<string, List<PortBinding>>? Bindings, Dictionary<string, EmptyObject>? Exposed) Parse(IReadOnlyList<string> publish, IReadOnlyList<string> expose)
    {
        Dictionary<string, List<PortBinding>>? bindings = null;
        Dictionary<string, EmptyObject>? exposed = null;
        foreach (var raw in publish)
        {
            foreach (var (port, binding) in ParseSpec(raw))
            {
                bindings ??= [];
                if (!bindings.TryGetValue(port, out var list))
                {
                    bindings[port] = list = [];
                }
                list.Add(binding);
                exposed ??= [];
                exposed[port] = new EmptyObject();
            }
        }
        foreach (var e in expose)
        {
            if (e.Contains(':'))
            {
                throw new UsageException($"invalid port format for --expose: {e}");
            }
            var (proto, port) = SplitProtoPort(e);
            if (!TryRange(port, out ushort start, out ushort end, out string? why))
            {
                throw new UsageException($"invalid range format for --expose: {e}, error: {why}");
            }
            for (int p = start; p <= end; p++)
            {
                exposed ??= [];
                exposed[p.ToString(CultureInfo.InvariantCulture) + "/" + proto.ToLowerInvariant()] = new EmptyObject();
            }
        }
        return (bindings, exposed);
    }

    /// <summary>One -p value through the runtime's parser (PortSpec), in the API's shape.</summary>
    private static List<(string Port, PortBinding Binding)> ParseSpec(string raw)
    {
        var result = new List<(string, PortBinding)>();
        foreach (var m in PortSpec.Parse(raw))
        {
            string hostPort = m.HostPort == 0 ? ""
                : m.HostPortEnd > m.HostPort ? string.Create(CultureInfo.InvariantCulture, $"{m.HostPort}-{m.HostPortEnd}")
                : m.HostPort.ToString(CultureInfo.InvariantCulture);
            result.Add((m.ContainerKey, new PortBinding { HostIp = m.HostIp, HostPort = hostPort }));
        }
        return result;
    }

    private static (string Proto, string Port) SplitProtoPort(string raw)
    {
        string[] parts = raw.Split('/');
        if (raw.Length == 0 || parts[0].Length == 0)
        {
            return ("", "");
        }
        if (parts.Length == 1 || parts[1].Length == 0)
        {
            return ("tcp", parts.Length == 1 ? raw : parts[0]);
        }
        return (parts[1], parts[0]);
    }

    /// <summary>nat.ParsePortRange: N or N-M, 16-bit, M not below N.</summary>
    private static bool TryRange(string ports, out ushort start, out ushort end, out string? why)
    {
        start = end = 0;
        why = null;
        if (ports.Length == 0)
        {
            why = "empty string specified for ports";
            return false;
        }
        int dash = ports.IndexOf('-');
        string a = dash < 0 ? ports : ports[..dash];
        string b = dash < 0 ? ports : ports[(dash + 1)..];
        if (!ushort.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out start))
        {
            why = $"strconv.ParseUint: parsing \"{a}\": invalid syntax";
            return false;
        }
        if (!ushort.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out end))
        {
            why = $"strconv.ParseUint: parsing \"{b}\": invalid syntax";
            return false;
        }
        if (end < start)
        {
            why = $"invalid range specified for port: {ports}";
            return false;
        }
        return true;
    }
}
