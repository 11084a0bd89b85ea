using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Skiff.Runtime.Network;

/// <summary>
/// One published port, as Docker's -p makes it: HostIp:HostPort → ContainerPort/Protocol.
/// HostIp "" is every address (0.0.0.0, and [::] where the tool can); HostPort 0 is one
/// the kernel chooses, within HostPort..HostPortEnd when a host range was given for a
/// single container port (8000-8010:80).
/// </summary>
public sealed record PortMapping(string HostIp, int HostPort, int ContainerPort, string Protocol = "tcp")
{
    /// <summary>The last host port to try when one is chosen from a range; 0 when HostPort is fixed or free.</summary>
    public int HostPortEnd { get; init; }

    /// <summary>Docker's key for the container side: "80/tcp".</summary>
    public string ContainerKey => string.Create(CultureInfo.InvariantCulture, $"{ContainerPort}/{Protocol}");

    public bool IsIPv6 => HostIp.Contains(':');

    /// <summary>The host side as Docker prints it: 0.0.0.0:8080, [::1]:8080, 127.0.0.1:8000-8010.</summary>
    public string HostEndpoint
    {
        get
        {
            string ip = HostIp.Length == 0 ? "0.0.0.0" : IsIPv6 ? $"[{HostIp}]" : HostIp;
            string port = HostPortEnd > HostPort
                ? string.Create(CultureInfo.InvariantCulture, $"{HostPort}-{HostPortEnd}")
                : HostPort.ToString(CultureInfo.InvariantCulture);
            return $"{ip}:{port}";
        }
    }

    /// <summary>docker ps's form: 127.0.0.1:18080->80/tcp.</summary>
    public override string ToString() => $"{HostEndpoint}->{ContainerKey}";
}

/// <summary>
/// Docker's -p/--publish syntax (go-connections nat.ParsePortSpec, and the CLI's
/// published=,target=,protocol= form), with Docker's error messages.
/// </summary>
public static class PortSpec
{
    /// <summary>Every -p value in order; ranges become one mapping per port.</summary>
    public static IReadOnlyList<PortMapping> ParseAll(IEnumerable<string> specs)
    {
        var all = new List<PortMapping>();
        foreach (string spec in specs)
        {
            all.AddRange(Parse(spec));
        }
        return all;
    }

    public static IReadOnlyList<PortMapping> Parse(string spec)
    {
        string raw = spec.Contains('=') ? FromLongSyntax(spec) : spec;
        var (ip, hostPort, containerPart) = SplitParts(raw);
        var (proto, containerPort) = SplitProtoPort(containerPart);
        if (containerPort.Length == 0)
        {
            throw SkiffException.Invalid($"no port specified: {raw}<empty>");
        }
        proto = proto.ToLowerInvariant();
        if (proto is not ("tcp" or "udp" or "sctp"))
        {
            throw SkiffException.Invalid($"invalid proto: {proto}");
        }
        if (ip.StartsWith('['))
        {
            int close = ip.IndexOf(']');
            if (close < 0)
            {
                throw SkiffException.Invalid($"invalid IP address {ip}: address {ip}:: missing ']' in address");
            }
            if (close != ip.Length - 1)
            {
                throw SkiffException.Invalid($"invalid IP address {ip}: address {ip}:: too many colons in address");
            }
            ip = ip[1..close];
        }
        if (ip.Length > 0 && !IsIpAddress(ip))
        {
            throw SkiffException.Invalid($"invalid IP address: {ip}");
        }
        if (!TryParseRange(containerPort, out int start, out int end))
        {
            throw SkiffException.Invalid($"invalid containerPort: {containerPort}");
        }
        int hostStart = 0, hostEnd = 0;
        if (hostPort.Length > 0)
        {
            if (!TryParseRange(hostPort, out hostStart, out hostEnd))
            {
                throw SkiffException.Invalid($"invalid hostPort: {hostPort}");
            }
            // A host range is allowed against one container port: the range to choose from.
            if (end - start != hostEnd - hostStart && end != start)
            {
                throw SkiffException.Invalid($"invalid ranges specified for container and host Ports: {containerPort} and {hostPort}");
            }
        }
        int count = end - start + 1;
        var mappings = new List<PortMapping>(count);
        for (int i = 0; i < count; i++)
        {
            int h = hostPort.Length > 0 ? hostStart + i : 0;
            int hEnd = count == 1 && hostStart != hostEnd ? hostEnd : 0;
            mappings.Add(new PortMapping(NormalizeIp(ip), h, start + i, proto) { HostPortEnd = hEnd });
        }
        return mappings;
    }

    /// <summary>Docker CLI's convertToStandardNotation: published=8080,target=80,protocol=udp → 8080:80/udp.</summary>
    private static string FromLongSyntax(string spec)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["protocol"] = "tcp" };
        foreach (string param in spec.Split(','))
        {
            int eq = param.IndexOf('=');
            if (eq <= 0)
            {
                throw SkiffException.Invalid($"invalid publish opts format (should be name=value but got '{param}')");
            }
            values[param[..eq]] = param[(eq + 1)..];
        }
        return $"{values.GetValueOrDefault("published", "")}:{values.GetValueOrDefault("target", "")}/{values["protocol"]}";
    }

    private static (string Ip, string HostPort, string Container) SplitParts(string raw)
    {
        string[] parts = raw.Split(':');
        return parts.Length switch
        {
            1 => ("", "", parts[0]),
            2 => ("", parts[0], parts[1]),
            3 => (parts[0], parts[1], parts[2]),
            _ => (string.Join(':', parts[..^2]), parts[^2], parts[^1]),
        };
    }

    private static (string Proto, string Port) SplitProtoPort(string raw)
    {
        int slash = raw.IndexOf('/');
        string port = slash < 0 ? raw : raw[..slash];
        string proto = slash < 0 ? "" : raw[(slash + 1)..];
        if (port.Length == 0)
        {
            return ("", "");
        }
        return (proto.Length == 0 ? "tcp" : proto, port);
    }

    /// <summary>nat.ParsePortRange: "80" or "8000-9000" (anything after a second '-' ignored, as Go does).</summary>
    private static bool TryParseRange(string s, out int start, out int end)
    {
        start = end = 0;
        if (s.Length == 0)
        {
            return false;
        }
        int dash = s.IndexOf('-');
        if (dash < 0)
        {
            bool ok = TryParsePort(s, out start);
            end = start;
            return ok;
        }
        string[] parts = s.Split('-');
        if (!TryParsePort(parts[0], out start) || !TryParsePort(parts[1], out end))
        {
            return false;
        }
        return end >= start;
    }

    /// <summary>strconv.ParseUint(s, 10, 16): decimal digits only, at most 65535.</summary>
    private static bool TryParsePort(string s, out int port)
    {
        port = 0;
        if (s.Length == 0 || s.Length > 5)
        {
            return false;
        }
        foreach (char c in s)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
            port = port * 10 + (c - '0');
        }
        return port <= ushort.MaxValue;
    }

    /// <summary>Go's net.ParseIP: a dotted quad without leading zeros, or an IPv6 address without a zone.</summary>
    public static bool IsIpAddress(string s)
    {
        if (s.Contains(':'))
        {
            return !s.Contains('%') && IPAddress.TryParse(s, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        }
        string[] parts = s.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }
        foreach (string p in parts)
        {
            if (p.Length is 0 or > 3 || (p.Length > 1 && p[0] == '0') || !p.All(char.IsAsciiDigit) || int.Parse(p, CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The canonical text of an address (::0001 → ::1), so equal addresses compare equal.</summary>
    private static string NormalizeIp(string ip) =>
        ip.Length == 0 ? "" : IPAddress.Parse(ip).ToString();
}
