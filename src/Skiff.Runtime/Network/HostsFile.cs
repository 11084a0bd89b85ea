using System.Text;

namespace Skiff.Runtime.Network;

/// <summary>One --add-host entry: a name and an address, or "host-gateway".</summary>
public sealed record ExtraHost(string Name, string Address);

/// <summary>
/// The container's /etc/hosts as Docker writes it: the loopback and IPv6 lines, then the
/// --add-host entries, then the container's own address and hostname.
/// </summary>
public static class HostsFile
{
    /// <summary>--add-host NAME:host-gateway: the address that reaches the host.</summary>
    public const string HostGatewayName = "host-gateway";

    private const string Defaults =
        "127.0.0.1\tlocalhost\n" +
        "::1\tlocalhost ip6-localhost ip6-loopback\n" +
        "fe00::0\tip6-localnet\n" +
        "ff00::0\tip6-mcastprefix\n" +
        "ff02::1\tip6-allnodes\n" +
        "ff02::2\tip6-allrouters\n";

    /// <summary>
    /// Docker's ValidateExtraHost: NAME:IP or NAME=IP (only the first ':' splits, so IPv6
    /// works; brackets allowed), or NAME:host-gateway. The address is kept as written.
    /// </summary>
    public static ExtraHost ParseExtraHost(string value)
    {
        int eq = value.IndexOf('=');
        int cut = eq >= 0 ? eq : value.IndexOf(':');
        string name = cut > 0 ? value[..cut] : "";
        string address = cut >= 0 ? value[(cut + 1)..] : "";
        if (cut <= 0 || name.Contains(':'))
        {
            throw SkiffException.Invalid($"bad format for add-host: \"{value}\"");
        }
        if (address != HostGatewayName)
        {
            if (address.Length > 2 && address[0] == '[' && address[^1] == ']')
            {
                address = address[1..^1];
            }
            if (!PortSpec.IsIpAddress(address.Trim()))
            {
                throw SkiffException.Invalid($"invalid IP address in add-host: \"{address}\"");
            }
        }
        return new ExtraHost(name, address);
    }

    /// <param name="containerAddress">The container's own address; null without one (--network none).</param>
    /// <param name="hostGateway">What host-gateway stands for; needed only when an entry uses it.</param>
    public static string Build(string hostname, string domainname, string? containerAddress, IReadOnlyList<ExtraHost> extraHosts, string? hostGateway = null)
    {
        var text = new StringBuilder(Defaults);
        AppendExtra(text, extraHosts, hostGateway);
        if (containerAddress is not null)
        {
            text.Append(containerAddress).Append('\t');
            if (domainname.Length > 0)
            {
                text.Append(hostname).Append('.').Append(domainname).Append(' ');
            }
            text.Append(hostname).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>--network host: the host's own /etc/hosts, then the --add-host entries.</summary>
    public static string ForHostNetwork(string hostHostsText, IReadOnlyList<ExtraHost> extraHosts, string? hostGateway = null)
    {
        var text = new StringBuilder(hostHostsText);
        if (text.Length > 0 && text[^1] != '\n')
        {
            text.Append('\n');
        }
        AppendExtra(text, extraHosts, hostGateway);
        return text.ToString();
    }

    private static void AppendExtra(StringBuilder text, IReadOnlyList<ExtraHost> extraHosts, string? hostGateway)
    {
        foreach (var h in extraHosts)
        {
            string address = h.Address;
            if (address == HostGatewayName)
            {
                address = hostGateway ?? throw SkiffException.Invalid(
                    $"--add-host {h.Name}:{HostGatewayName}: no address reaches the host from this container's network");
            }
            text.Append(address).Append('\t').Append(h.Name).Append('\n');
        }
    }
}
