using Skiff.Runtime.Network;

namespace Skiff.Tests.Network;

public class HelperArgumentsTests
{
    private static NetworkPlan Plan(NetworkTool tool, params string[] publish) =>
        new(tool, "/usr/bin/x", "web", PortSpec.ParseAll(publish).Select(p => p.HostPort == 0 ? p with { HostPort = 40000 + p.ContainerPort } : p).ToList());

    [Fact]
    public void Pasta_joins_by_inherited_fds_with_the_fixed_addresses_and_nothing_forwarded_but_what_is_published()
    {
        var argv = Pasta.Arguments(Plan(NetworkTool.Pasta, "127.0.0.1:18080:80"), asRoot: false, "/run/x.pid", "/proc/self/fd/3", "/proc/self/fd/4");
        Assert.Equal(
            "pasta --config-net --quiet --ns-ifname eth0 --address 10.0.2.100 --netmask 24 --gateway 10.0.2.2 --dns-forward 10.0.2.3 "
            + "--no-map-gw -T none -U none --pid /run/x.pid -t 127.0.0.1/18080:80 -u none --userns /proc/self/fd/4 --netns /proc/self/fd/3",
            string.Join(' ', argv));
    }

    [Fact]
    public void Pasta_as_root_stays_root_and_a_shared_user_namespace_is_not_joined()
    {
        var argv = Pasta.Arguments(Plan(NetworkTool.Pasta), asRoot: true, "/p", "/proc/self/fd/3", userns: null);
        Assert.Contains("--runas 0", string.Join(' ', argv));
        Assert.DoesNotContain("--userns", argv);
        Assert.Equal(["-t", "none", "-u", "none"], argv.SkipWhile(a => a != "-t").Take(4));
    }

    [Fact]
    public void Pasta_specs_merge_consecutive_ports_per_address_and_protocol()
    {
        var plan = Plan(NetworkTool.Pasta, "8000-8002:80-82", "127.0.0.1:9000:90", "[::1]:9001:91", "8003:84", "5353:53/udp");
        var argv = string.Join(' ', Pasta.Arguments(plan, false, "/p", "/n", null));
        Assert.Contains("-t 8000-8002:80-82 -t 127.0.0.1/9000:90 -t ::1/9001:91 -t 8003:84 -u 5353:53", argv);
    }

    [Fact]
    public void Pasta_failing_to_bind_reads_as_dockers_port_conflict()
    {
        var plan = Plan(NetworkTool.Pasta, "127.0.0.1:18080:80", "9000-9001:90-91");
        var e = Pasta.Failure(plan, 1, "Failed to bind any port for '-t 9000-9001:90-91', exiting");
        Assert.Equal("driver failed programming external connectivity on endpoint web: Bind for 0.0.0.0:9000 failed: port is already allocated", e.Message);
        Assert.Equal(ErrorCategory.Conflict, e.Category);
        Assert.Contains("127.0.0.1:18080 failed", Pasta.Failure(plan, 1, "Failed to bind any port for '-t 127.0.0.1/18080:80', exiting").Message);
    }

    [Theory]
    [InlineData("No external routable interface for IPv4\nExternal interface not usable", "pasta needs a default route on the host")]
    [InlineData("Failed to open tun socket in namespace", "chmod 0666 /dev/net/tun")]
    [InlineData("Something else", "pasta failed to connect the container's network: Something else")]
    [InlineData("", "pasta failed to connect the container's network: exit status 1")]
    public void Pasta_failures_say_what_to_do(string output, string expected)
    {
        Assert.Contains(expected, Pasta.Failure(Plan(NetworkTool.Pasta), 1, output).Message);
    }

    [Fact]
    public void Slirp4netns_is_configured_by_fds_and_ends_with_its_exit_fd()
    {
        Assert.Equal(
            "slirp4netns --configure --mtu=65520 --disable-host-loopback --ready-fd=5 --exit-fd=6 --api-socket=/run/s.sock "
            + "--netns-type=path --userns-path=/proc/self/fd/4 /proc/self/fd/3 eth0",
            string.Join(' ', Slirp4netns.Arguments("/run/s.sock", joinUserNs: true, sandbox: false)));
        var asRoot = Slirp4netns.Arguments("/s", joinUserNs: false, sandbox: true);
        Assert.DoesNotContain("--userns-path=/proc/self/fd/4", asRoot);
        Assert.Contains("--enable-sandbox", asRoot);
        Assert.Contains("--enable-seccomp", asRoot);
    }

    [Fact]
    public void Slirp4netns_publishes_through_add_hostfwd()
    {
        Assert.Equal("""{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18080,"guest_addr":"10.0.2.100","guest_port":80}}""",
            Slirp4netns.AddRequest(new PortMapping("127.0.0.1", 18080, 80)));
        Assert.Contains("\"proto\":\"udp\",\"host_addr\":\"0.0.0.0\",\"host_port\":5353",
            Slirp4netns.AddRequest(new PortMapping("", 5353, 53, "udp")));
    }

    [Fact]
    public void An_attachment_closes_its_hold_fds_and_ends_the_helper_once()
    {
        int[] fds = Pipe();
        var ended = new List<bool>();
        var a = new NetworkAttachment(NetworkTool.Slirp4netns, 42, [], [fds[1]], ended.Add);
        Assert.Equal([fds[1]], a.HoldFds);
        a.Dispose();
        a.Dispose();
        Assert.Equal([true], ended);
        Assert.Equal(0, ReadEof(fds[0]));
        Interop.Libc.close(fds[0]);
    }

    [Fact]
    public void Start_release_lets_the_helper_begin_to_exit_and_dispose_then_waits()
    {
        int[] fds = Pipe();
        var ended = new List<bool>();
        var a = new NetworkAttachment(NetworkTool.Pasta, 42, [], [fds[1]], ended.Add);
        a.StartRelease();
        Assert.Equal(0, ReadEof(fds[0]));
        Assert.Empty(ended);
        a.Dispose();
        Assert.Equal([true], ended);
        Interop.Libc.close(fds[0]);
    }

    [Fact]
    public void A_detached_attachment_leaves_the_helper_and_its_hold_fds_to_the_caller()
    {
        int[] fds = Pipe();
        var ended = new List<bool>();
        var a = new NetworkAttachment(NetworkTool.Pasta, 42, [], [fds[1]], ended.Add);
        Assert.Equal([fds[1]], a.Detach());
        a.Dispose();
        Assert.Equal([false], ended);
        Assert.Empty(a.HoldFds);
        Interop.Libc.close(fds[0]);
        Interop.Libc.close(fds[1]);
    }

    [Fact]
    public void The_plan_and_attachment_report_dockers_network_settings()
    {
        var a = new NetworkAttachment(NetworkTool.Pasta, 1, [], [], null);
        Assert.Equal(("10.0.2.100", 24, "10.0.2.2"), (a.IPAddress, a.IPPrefixLen, a.Gateway));
        Assert.Equal("nameserver 10.0.2.3\nsearch corp.example\n", a.ResolvConf("nameserver 127.0.0.53\nsearch corp.example\n"));
    }

    private static unsafe int[] Pipe()
    {
        int* p = stackalloc int[2];
        Assert.Equal(0, NetworkNative.pipe2(p, NetworkNative.O_CLOEXEC));
        return [p[0], p[1]];
    }

    private static unsafe long ReadEof(int fd)
    {
        byte b;
        return Interop.Libc.read(fd, &b, 1);
    }
}
