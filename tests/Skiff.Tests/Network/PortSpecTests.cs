using Skiff.Runtime.Network;

namespace Skiff.Tests.Network;

public class PortSpecTests
{
    [Fact]
    public void A_container_port_alone_gets_a_host_port_the_kernel_chooses_on_every_address()
    {
        var p = Assert.Single(PortSpec.Parse("80"));
        Assert.Equal(new PortMapping("", 0, 80, "tcp"), p);
        Assert.Equal("80/tcp", p.ContainerKey);
    }

    [Fact]
    public void Host_and_container_ports()
    {
        Assert.Equal(new PortMapping("", 8080, 80), Assert.Single(PortSpec.Parse("8080:80")));
        Assert.Equal(new PortMapping("127.0.0.1", 18080, 80), Assert.Single(PortSpec.Parse("127.0.0.1:18080:80")));
        Assert.Equal("127.0.0.1:18080->80/tcp", PortSpec.Parse("127.0.0.1:18080:80")[0].ToString());
    }

    [Fact]
    public void An_address_with_an_empty_host_port_lets_the_kernel_choose_there()
    {
        Assert.Equal(new PortMapping("127.0.0.1", 0, 80), Assert.Single(PortSpec.Parse("127.0.0.1::80")));
    }

    [Fact]
    public void Ranges_become_one_mapping_per_port()
    {
        var ps = PortSpec.Parse("8000-8001:80-81");
        Assert.Equal([new PortMapping("", 8000, 80), new PortMapping("", 8001, 81)], ps);
        Assert.Equal([new PortMapping("", 0, 5000, "udp"), new PortMapping("", 0, 5001, "udp")], PortSpec.Parse("5000-5001/udp"));
    }

    [Fact]
    public void A_host_range_against_one_container_port_is_the_range_to_choose_from()
    {
        var p = Assert.Single(PortSpec.Parse("8000-8010:80"));
        Assert.Equal((8000, 8010, 80), (p.HostPort, p.HostPortEnd, p.ContainerPort));
        Assert.Equal("0.0.0.0:8000-8010->80/tcp", p.ToString());
    }

    [Theory]
    [InlineData("53/udp", "udp")]
    [InlineData("53/UDP", "udp")]
    [InlineData("80/tcp", "tcp")]
    [InlineData("80/", "tcp")]
    [InlineData("132/sctp", "sctp")]
    public void Protocol_suffixes(string spec, string proto)
    {
        Assert.Equal(proto, Assert.Single(PortSpec.Parse(spec)).Protocol);
    }

    [Fact]
    public void IPv6_addresses_in_brackets_or_bare()
    {
        var p = Assert.Single(PortSpec.Parse("[::1]:8080:80"));
        Assert.Equal(new PortMapping("::1", 8080, 80), p);
        Assert.True(p.IsIPv6);
        Assert.Equal("[::1]:8080->80/tcp", p.ToString());
        Assert.Equal(new PortMapping("::1", 8080, 80), Assert.Single(PortSpec.Parse("::1:8080:80")));
        Assert.Equal("::1", PortSpec.Parse("[0:0:0:0:0:0:0:1]:8080:80")[0].HostIp);
    }

    [Fact]
    public void The_long_syntax_of_the_docker_cli()
    {
        Assert.Equal(new PortMapping("", 8080, 80, "udp"), Assert.Single(PortSpec.Parse("published=8080,target=80,protocol=udp")));
        Assert.Equal(new PortMapping("", 0, 80, "tcp"), Assert.Single(PortSpec.Parse("target=80")));
    }

    [Theory]
    [InlineData("abc", "invalid containerPort: abc")]
    [InlineData("8080:abc", "invalid containerPort: abc")]
    [InlineData("70000", "invalid containerPort: 70000")]
    [InlineData("81-80", "invalid containerPort: 81-80")]
    [InlineData("-1", "invalid containerPort: -1")]
    [InlineData("99999:80", "invalid hostPort: 99999")]
    [InlineData("x:80", "invalid hostPort: x")]
    [InlineData("8000-8002:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000-8002")]
    [InlineData("80/icmp", "invalid proto: icmp")]
    [InlineData("1.2.3:80:80", "invalid IP address: 1.2.3")]
    [InlineData("localhost:80:80", "invalid IP address: localhost")]
    [InlineData("01.2.3.4:80:80", "invalid IP address: 01.2.3.4")]
    [InlineData("[::1:80:80", "invalid IP address [::1: address [::1:: missing ']' in address")]
    [InlineData("", "no port specified: <empty>")]
    [InlineData("8080:", "no port specified: 8080:<empty>")]
    [InlineData("published=8080,bad", "invalid publish opts format (should be name=value but got 'bad')")]
    public void Bad_specs_are_refused_in_dockers_words(string spec, string message)
    {
        var e = Assert.Throws<SkiffException>(() => PortSpec.Parse(spec));
        Assert.Equal(message, e.Message);
        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
    }

    [Fact]
    public void ParseAll_keeps_the_order_of_the_flags()
    {
        var all = PortSpec.ParseAll(["127.0.0.1:18080:80", "53/udp"]);
        Assert.Equal(["127.0.0.1:18080->80/tcp", "0.0.0.0:0->53/udp"], all.Select(p => p.ToString()));
    }
}
