using Skiff.Runtime.Network;

namespace Skiff.Tests.Network;

public class HostsAndResolvTests
{
    private const string Defaults =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
        + "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

    [Fact]
    public void Hosts_has_dockers_default_lines_then_added_hosts_then_the_container()
    {
        var extra = new[] { HostsFile.ParseExtraHost("db:10.0.0.5"), HostsFile.ParseExtraHost("gw:host-gateway") };
        string hosts = HostsFile.Build("0f1b2c3d4e5f", "", "10.0.2.100", extra, hostGateway: "192.0.2.2");
        Assert.Equal(Defaults + "10.0.0.5\tdb\n192.0.2.2\tgw\n10.0.2.100\t0f1b2c3d4e5f\n", hosts);
    }

    [Fact]
    public void A_domain_name_gives_the_full_name_first()
    {
        Assert.EndsWith("10.0.2.100\tweb.example.com web\n", HostsFile.Build("web", "example.com", "10.0.2.100", []));
    }

    [Fact]
    public void Without_an_address_only_the_defaults_and_added_hosts()
    {
        Assert.Equal(Defaults + "::1\tv6\n", HostsFile.Build("web", "", null, [HostsFile.ParseExtraHost("v6=[::1]")]));
    }

    [Fact]
    public void Host_network_keeps_the_hosts_own_file()
    {
        Assert.Equal("127.0.0.1 localhost\n10.0.0.5\tdb\n", HostsFile.ForHostNetwork("127.0.0.1 localhost", [new ExtraHost("db", "10.0.0.5")]));
    }

    [Theory]
    [InlineData("db:10.0.0.5", "db", "10.0.0.5")]
    [InlineData("db=10.0.0.5", "db", "10.0.0.5")]
    [InlineData("v6:2001:db8::1", "v6", "2001:db8::1")]
    [InlineData("v6=[2001:db8::1]", "v6", "2001:db8::1")]
    [InlineData("gw:host-gateway", "gw", "host-gateway")]
    public void Add_host_forms(string value, string name, string address)
    {
        Assert.Equal(new ExtraHost(name, address), HostsFile.ParseExtraHost(value));
    }

    [Theory]
    [InlineData("nocolon", "bad format for add-host: \"nocolon\"")]
    [InlineData(":1.2.3.4", "bad format for add-host: \":1.2.3.4\"")]
    [InlineData("db:notanip", "invalid IP address in add-host: \"notanip\"")]
    public void Bad_add_hosts(string value, string message)
    {
        Assert.Equal(message, Assert.Throws<SkiffException>(() => HostsFile.ParseExtraHost(value)).Message);
    }

    [Fact]
    public void Host_gateway_needs_an_address()
    {
        Assert.Throws<SkiffException>(() => HostsFile.Build("web", "", "10.0.2.100", [new ExtraHost("gw", "host-gateway")]));
    }

    private const string Host = "# generated\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nsearch a.example b.example\noptions edns0 trust-ad\n";

    [Fact]
    public void Private_network_resolves_through_the_helpers_forwarder_with_the_hosts_search_and_options()
    {
        Assert.Equal("nameserver 10.0.2.3\nsearch a.example b.example\noptions edns0 trust-ad\n",
            ResolvConf.ForPrivateNetwork(Host, "10.0.2.3"));
    }

    [Fact]
    public void Dns_flags_replace_their_part_only()
    {
        var dns = new DnsOverrides(["1.1.1.1", "9.9.9.9"], [], ["ndots:2"]);
        Assert.Equal("nameserver 1.1.1.1\nnameserver 9.9.9.9\nsearch a.example b.example\noptions ndots:2\n",
            ResolvConf.ForPrivateNetwork(Host, "10.0.2.3", dns));
        Assert.Equal("nameserver 10.0.2.3\noptions edns0 trust-ad\n",
            ResolvConf.ForPrivateNetwork(Host, "10.0.2.3", new DnsOverrides([], ["."], [])));
    }

    [Fact]
    public void Host_network_copies_the_hosts_file_unless_told_otherwise()
    {
        Assert.Equal(Host, ResolvConf.ForHostNetwork(Host));
        Assert.Equal("nameserver 10.255.255.53\nsearch a.example b.example\noptions edns0 trust-ad\n",
            ResolvConf.ForHostNetwork(Host, dropLoopback: true));
        Assert.StartsWith("nameserver 8.8.8.8\nsearch c.example\n", ResolvConf.ForHostNetwork(Host, new DnsOverrides(["8.8.8.8"], ["c.example"], [])));
    }

    [Fact]
    public void No_network_drops_loopback_nameservers()
    {
        Assert.Equal("nameserver 10.255.255.53\nsearch a.example b.example\noptions edns0 trust-ad\n", ResolvConf.ForNoNetwork(Host));
        Assert.Equal("", ResolvConf.ForNoNetwork("nameserver 127.0.0.1\nnameserver ::1\n"));
    }

    [Fact]
    public void The_last_search_line_wins_as_in_the_resolver()
    {
        Assert.Equal("nameserver 10.0.2.3\nsearch c.example\n", ResolvConf.ForPrivateNetwork("search a.example\nsearch c.example\n", "10.0.2.3"));
    }
}
