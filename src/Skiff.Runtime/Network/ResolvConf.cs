using System.Text;

namespace Skiff.Runtime.Network;

/// <summary>--dns, --dns-search and --dns-option; an empty list means "as the base file has it".</summary>
public sealed record DnsOverrides(IReadOnlyList<string> Servers, IReadOnlyList<string> Search, IReadOnlyList<string> Options)
{
    public static readonly DnsOverrides None = new([], [], []);

    public bool Any => Servers.Count > 0 || Search.Count > 0 || Options.Count > 0;
}

/// <summary>
/// The container's /etc/resolv.conf, built as Docker builds it (libnetwork setupDNS):
/// the host's file is the base; nameservers, search domains and options each come from
/// the flags when given, else from the base. "--dns-search ." clears the search list.
/// </summary>
public static class ResolvConf
{
    public const string HostPath = "/etc/resolv.conf";

    /// <summary>A private network: the helper's forwarder replaces the host's nameservers (loopback ones included, which the forwarder reaches).</summary>
    public static string ForPrivateNetwork(string hostText, string forwarder, DnsOverrides? overrides = null) =>
        Build(hostText, [forwarder], overrides ?? DnsOverrides.None);

    /// <summary>
    /// --network host: Docker copies the host's file untouched (its loopback resolvers work
    /// there) unless a flag changes it; dropLoopback removes 127.x and ::1 nameservers anyway.
    /// </summary>
    public static string ForHostNetwork(string hostText, DnsOverrides? overrides = null, bool dropLoopback = false)
    {
        overrides ??= DnsOverrides.None;
        if (!overrides.Any && !dropLoopback)
        {
            return hostText.Length == 0 || hostText.EndsWith('\n') ? hostText : hostText + "\n";
        }
        var servers = Nameservers(hostText).Where(s => !dropLoopback || !IsLoopback(s)).ToList();
        return Build(hostText, servers, overrides);
    }

    /// <summary>--network none: the host's file without loopback nameservers, which nothing inside could reach.</summary>
    public static string ForNoNetwork(string hostText, DnsOverrides? overrides = null) =>
        Build(hostText, Nameservers(hostText).Where(s => !IsLoopback(s)).ToList(), overrides ?? DnsOverrides.None);

    /// <summary>The host's file, or "" when there is none.</summary>
    public static string ReadHost(string path = HostPath)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static string Build(string baseText, IReadOnlyList<string> defaultServers, DnsOverrides overrides)
    {
        var servers = overrides.Servers.Count > 0 ? overrides.Servers : defaultServers;
        IReadOnlyList<string> search = overrides.Search.Count > 0 ? overrides.Search : Values(baseText, "search");
        if (search.Count == 1 && search[0] == ".")
        {
            search = [];
        }
        var options = overrides.Options.Count > 0 ? overrides.Options : Values(baseText, "options");
        var text = new StringBuilder();
        foreach (string s in servers)
        {
            text.Append("nameserver ").Append(s).Append('\n');
        }
        if (search.Count > 0)
        {
            text.Append("search ").AppendJoin(' ', search).Append('\n');
        }
        if (options.Count > 0)
        {
            text.Append("options ").AppendJoin(' ', options).Append('\n');
        }
        return text.ToString();
    }

    public static List<string> Nameservers(string text)
    {
        var servers = new List<string>();
        foreach (var fields in Lines(text))
        {
            if (fields[0] == "nameserver" && fields.Length > 1)
            {
                servers.Add(fields[1]);
            }
        }
        return servers;
    }

    /// <summary>The words after the last "search" line (the resolver keeps only the last), or after every "options" line.</summary>
    private static List<string> Values(string text, string keyword)
    {
        var values = new List<string>();
        foreach (var fields in Lines(text))
        {
            if (fields[0] != keyword)
            {
                continue;
            }
            if (keyword == "search" || keyword == "domain")
            {
                values.Clear();
            }
            values.AddRange(fields.Skip(1));
        }
        return values;
    }

    private static IEnumerable<string[]> Lines(string text)
    {
        foreach (string line in text.Split('\n'))
        {
            string t = line.Trim();
            if (t.Length == 0 || t[0] is '#' or ';')
            {
                continue;
            }
            yield return t.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        }
    }

    private static bool IsLoopback(string server) =>
        server.StartsWith("127.", StringComparison.Ordinal) || server == "::1";
}
