using Skiff.Runtime.Network;

namespace Skiff.Tests.Network;

public class NetworkToolsTests
{
    private static Func<string, string?> Installed(params string[] names) =>
        name => names.Contains(name) ? "/usr/bin/" + name : null;

    [Fact]
    public void Pasta_first()
    {
        var tools = new NetworkTools(Installed("pasta", "slirp4netns"), () => true);
        Assert.Equal((NetworkTool.Pasta, "/usr/bin/pasta"), tools.Choose());
    }

    [Fact]
    public void Slirp4netns_when_pasta_is_not_installed()
    {
        Assert.Equal((NetworkTool.Slirp4netns, "/usr/bin/slirp4netns"), new NetworkTools(Installed("slirp4netns"), () => true).Choose());
    }

    [Fact]
    public void Slirp4netns_when_the_host_has_no_default_route_which_pasta_needs()
    {
        Assert.Equal(NetworkTool.Slirp4netns, new NetworkTools(Installed("pasta", "slirp4netns"), () => false).Choose().Tool);
        // With only pasta, pasta it is: it says itself what it misses.
        Assert.Equal(NetworkTool.Pasta, new NetworkTools(Installed("pasta"), () => false).Choose().Tool);
    }

    [Fact]
    public void Neither_installed_says_which_package_to_install()
    {
        var e = Assert.Throws<SkiffException>(() => new NetworkTools(Installed(), () => true).Choose());
        Assert.Equal("private networking needs pasta (apt-get install passt) or slirp4netns (apt-get install slirp4netns); "
            + "or use --network none or --network host", e.Message);
        Assert.Equal(ErrorCategory.Unavailable, e.Category);
    }

    [Fact]
    public void Neither_installed_fails_prepare_before_any_port_is_looked_at()
    {
        var network = new PrivateNetwork(new NetworkTools(Installed(), () => true));
        var e = Assert.Throws<SkiffException>(() => network.Prepare("web", [new PortMapping("127.0.0.1", 18080, 80)], rootless: true));
        Assert.Equal(NetworkTools.Missing, e.Message);
    }

    [Fact]
    public void A_preferred_tool_is_used_or_named_as_missing()
    {
        Assert.Equal(NetworkTool.Slirp4netns, new NetworkTools(Installed("pasta", "slirp4netns"), () => true, "slirp4netns").Choose().Tool);
        var e = Assert.Throws<SkiffException>(() => new NetworkTools(Installed("slirp4netns"), () => true, "pasta").Choose());
        Assert.Equal("SKIFF_NETWORK_TOOL=pasta, but pasta is not installed (apt-get install passt)", e.Message);
        Assert.Throws<SkiffException>(() => new NetworkTools(Installed("pasta"), () => true, "vde").Choose());
    }

    [Fact]
    public void Prepare_refuses_what_the_tool_cannot_publish()
    {
        var slirp = new PrivateNetwork(new NetworkTools(Installed("slirp4netns"), () => true));
        var e = Assert.Throws<SkiffException>(() => slirp.Prepare("web", PortSpec.Parse("[::1]:18080:80"), rootless: true));
        Assert.Equal("cannot publish [::1]:18080->80/tcp: slirp4netns publishes on IPv4 addresses only; install pasta (apt-get install passt) for IPv6", e.Message);
        var pasta = new PrivateNetwork(new NetworkTools(Installed("pasta"), () => true));
        Assert.Contains("not sctp", Assert.Throws<SkiffException>(() => pasta.Prepare("web", PortSpec.Parse("9/sctp"), true)).Message);
    }
}
