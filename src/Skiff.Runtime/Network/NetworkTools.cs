using System.Net;
using System.Net.Sockets;

namespace Skiff.Runtime.Network;

/// <summary>
/// Which helper a private network uses: pasta (package passt) when it is installed and the
/// host has a default route (this pasta needs one), else slirp4netns. SKIFF_NETWORK_TOOL
/// names one of them instead. Lookups are injected so the choice is unit-tested.
/// </summary>
public sealed class NetworkTools(Func<string, string?> find, Func<bool> hasDefaultRoute, string? preferred = null)
{
    public const string Missing =
        "private networking needs pasta (apt-get install passt) or slirp4netns (apt-get install slirp4netns); or use --network none or --network host";

    /// <summary>The real lookup: $PATH, and the environment's SKIFF_NETWORK_TOOL.</summary>
    public static NetworkTools FromEnvironment() =>
        new(FindInPath, HostRoutes.HasDefaultRoute, Environment.GetEnvironmentVariable("SKIFF_NETWORK_TOOL"));

    public (NetworkTool Tool, string Path) Choose()
    {
        if (!string.IsNullOrEmpty(preferred))
        {
            var tool = preferred switch
            {
                "pasta" or "passt" => NetworkTool.Pasta,
                "slirp4netns" => NetworkTool.Slirp4netns,
                _ => throw SkiffException.Invalid($"SKIFF_NETWORK_TOOL={preferred}: use pasta or slirp4netns"),
            };
            string name = tool == NetworkTool.Pasta ? "pasta" : "slirp4netns";
            string package = tool == NetworkTool.Pasta ? "passt" : "slirp4netns";
            return (tool, find(name) ?? throw SkiffException.Unavailable(
                $"SKIFF_NETWORK_TOOL={preferred}, but {name} is not installed (apt-get install {package})"));
        }
        string? pasta = find("pasta");
        string? slirp = find("slirp4netns");
        if (pasta is not null && (slirp is null || hasDefaultRoute()))
        {
            return (NetworkTool.Pasta, pasta);
        }
        if (slirp is not null)
        {
            return (NetworkTool.Slirp4netns, slirp);
        }
        throw SkiffException.Unavailable(Missing);
    }

    /// <summary>The first executable NAME in $PATH (/usr/sbin:/usr/bin:/sbin:/bin without one).</summary>
    public static string? FindInPath(string name)
    {
        string path = Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } p ? p : "/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (string dir in path.Split(':'))
        {
            if (dir.Length == 0)
            {
                continue;
            }
            string candidate = Path.Combine(dir, name);
            if (Interop.Libc.access(candidate, 1 /* X_OK */) == 0 && !Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}

/// <summary>The host's routes, read from /proc, for choosing a helper and for host-gateway.</summary>
public static class HostRoutes
{
    /// <summary>Is there an IPv4 or IPv6 default route? pasta of Debian 12 refuses to start without one.</summary>
    public static bool HasDefaultRoute()
    {
        try
        {
            // /proc/net/route: Iface Destination Gateway ...; a default route has Destination 00000000.
            foreach (string line in File.ReadLines("/proc/net/route").Skip(1))
            {
                string[] f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length > 7 && f[1] == "00000000" && f[7] == "00000000")
                {
                    return true;
                }
            }
            // /proc/net/ipv6_route: destination (32 hex) prefix-length ...; ::/0 through a device other than lo.
            foreach (string line in File.ReadLines("/proc/net/ipv6_route"))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length > 9 && f[1] == "00" && f[0].All(c => c == '0') && f[9] != "lo")
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
        }
        return false;
    }

    /// <summary>
    /// The host's own address on its default route, which a container on a private network
    /// reaches through the helper (Docker's host-gateway); null without a route.
    /// </summary>
    public static string? PrimaryAddress()
    {
        try
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            // No packet is sent: connecting a UDP socket only picks the route and the source.
            s.Connect(new IPEndPoint(IPAddress.Parse("198.51.100.1"), 9));
            return ((IPEndPoint)s.LocalEndPoint!).Address.ToString();
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
