using Skiff.Runtime.Network;

namespace Skiff.Tests.Network;

public class HostPortsTests
{
    private const int EADDRINUSE = 98;
    private const int EADDRNOTAVAIL = 99;
    private const int EAFNOSUPPORT = 97;

    /// <summary>A binder over a fake host: ports taken by someone else, errors per address, held ports collide.</summary>
    private sealed class FakeBinder : IPortBinder
    {
        private readonly HashSet<(string, int, string)> _held = [];
        private int _next = 40000;

        public HashSet<(string Ip, int Port)> Taken { get; } = [];
        public Dictionary<string, int> FailAddress { get; } = [];
        public List<string> Calls { get; } = [];

        public int Bind(string ip, int port, string protocol, out int boundPort, out IDisposable? held)
        {
            Calls.Add($"{protocol} {ip}:{port}");
            boundPort = 0;
            held = null;
            if (FailAddress.TryGetValue(ip, out int err))
            {
                return err;
            }
            if (port == 0)
            {
                port = _next++;
            }
            bool clash = Taken.Contains((ip, port))
                || _held.Any(h => h.Item2 == port && h.Item3 == protocol && (h.Item1 == ip || h.Item1 is "0.0.0.0" || ip is "0.0.0.0") && SameFamily(h.Item1, ip));
            if (clash || (port < 1024 && port > 0 && ip != "10.9.9.9"))
            {
                return clash ? EADDRINUSE : Errno.EACCES;
            }
            var key = (ip, port, protocol);
            _held.Add(key);
            boundPort = port;
            held = new Release(() => _held.Remove(key));
            return 0;
        }

        private static bool SameFamily(string a, string b) => a.Contains(':') == b.Contains(':');

        private sealed class Release(Action release) : IDisposable
        {
            public void Dispose() => release();
        }
    }

    [Fact]
    public void A_taken_port_is_refused_with_dockers_message_and_category()
    {
        var binder = new FakeBinder();
        binder.Taken.Add(("127.0.0.1", 18080));
        var e = Assert.Throws<SkiffException>(() =>
            HostPorts.Reserve("web", [new PortMapping("127.0.0.1", 18080, 80)], dualStack: true, binder));
        Assert.Equal("driver failed programming external connectivity on endpoint web: Bind for 127.0.0.1:18080 failed: port is already allocated", e.Message);
        Assert.Equal(ErrorCategory.Conflict, e.Category);
    }

    [Fact]
    public void Every_address_is_checked_for_a_port_on_all_of_them()
    {
        var binder = new FakeBinder();
        binder.Taken.Add(("::", 8080));
        var e = Assert.Throws<SkiffException>(() => HostPorts.Reserve("web", [new PortMapping("", 8080, 80)], dualStack: true, binder));
        Assert.Equal("driver failed programming external connectivity on endpoint web: Bind for 0.0.0.0:8080 failed: port is already allocated", e.Message);
        Assert.Equal(["tcp 0.0.0.0:8080", "tcp :::8080"], binder.Calls);
        // slirp4netns binds IPv4 only, so [::] is not its business.
        Assert.Single(HostPorts.Reserve("web", [new PortMapping("", 8080, 80)], dualStack: false, binder));
    }

    [Fact]
    public void Two_flags_for_one_port_collide_with_each_other()
    {
        var e = Assert.Throws<SkiffException>(() => HostPorts.Reserve("web",
            [new PortMapping("", 8080, 80), new PortMapping("127.0.0.1", 8080, 81)], dualStack: false, new FakeBinder()));
        Assert.Contains("Bind for 127.0.0.1:8080 failed: port is already allocated", e.Message);
        // Different protocols do not collide.
        var both = HostPorts.Reserve("web", [new PortMapping("", 5353, 53, "udp"), new PortMapping("", 5353, 53)], false, new FakeBinder());
        Assert.Equal(2, both.Count);
    }

    [Fact]
    public void The_kernel_chooses_a_port_which_is_then_reported_and_kept_on_every_address()
    {
        var binder = new FakeBinder();
        var ports = HostPorts.Reserve("web", [new PortMapping("", 0, 80), new PortMapping("127.0.0.1", 0, 81)], dualStack: true, binder);
        Assert.Equal([new PortMapping("", 40000, 80), new PortMapping("127.0.0.1", 40001, 81)], ports);
        Assert.Equal(["tcp 0.0.0.0:0", "tcp :::40000", "tcp 127.0.0.1:0"], binder.Calls);
    }

    [Fact]
    public void A_host_range_gives_the_first_free_port_in_it()
    {
        var binder = new FakeBinder();
        binder.Taken.Add(("0.0.0.0", 8000));
        binder.Taken.Add(("0.0.0.0", 8001));
        var p = Assert.Single(HostPorts.Reserve("web", [new PortMapping("", 8000, 80) { HostPortEnd = 8005 }], false, binder));
        Assert.Equal(new PortMapping("", 8002, 80), p);
        binder.Taken.UnionWith([("0.0.0.0", 8002), ("0.0.0.0", 8003)]);
        var e = Assert.Throws<SkiffException>(() => HostPorts.Reserve("web", [new PortMapping("", 8000, 80) { HostPortEnd = 8003 }], false, binder));
        Assert.Equal("driver failed programming external connectivity on endpoint web: Bind for 0.0.0.0:8000-8003 failed: port is already allocated", e.Message);
    }

    [Fact]
    public void A_privileged_port_says_how_to_allow_it()
    {
        var e = Assert.Throws<SkiffException>(() => HostPorts.Reserve("", [new PortMapping("127.0.0.1", 80, 80)], false, new FakeBinder()));
        Assert.StartsWith("driver failed programming external connectivity on endpoint skiff: cannot expose privileged port 80, "
            + "you can add 'net.ipv4.ip_unprivileged_port_start=80' to /etc/sysctl.conf (currently ", e.Message);
    }

    [Fact]
    public void An_address_the_host_does_not_have_reads_as_dockers_userland_proxy_error()
    {
        var binder = new FakeBinder();
        binder.FailAddress["192.0.2.77"] = EADDRNOTAVAIL;
        var e = Assert.Throws<SkiffException>(() => HostPorts.Reserve("web", [new PortMapping("192.0.2.77", 8080, 80)], true, binder));
        Assert.Equal("driver failed programming external connectivity on endpoint web: Error starting userland proxy: "
            + "listen tcp4 192.0.2.77:8080: bind: cannot assign requested address", e.Message);
    }

    [Fact]
    public void A_host_without_IPv6_still_publishes_on_all_IPv4_addresses()
    {
        var binder = new FakeBinder();
        binder.FailAddress["::"] = EAFNOSUPPORT;
        Assert.Equal(new PortMapping("", 8080, 80), Assert.Single(HostPorts.Reserve("web", [new PortMapping("", 8080, 80)], true, binder)));
        // ...but an explicit IPv6 address it cannot have is an error.
        binder.FailAddress["::1"] = EADDRNOTAVAIL;
        Assert.Throws<SkiffException>(() => HostPorts.Reserve("web", [new PortMapping("::1", 8080, 80)], true, binder));
    }

    [Fact]
    public void Every_port_is_let_go_afterwards_even_on_failure()
    {
        var binder = new FakeBinder();
        binder.Taken.Add(("127.0.0.1", 9001));
        Assert.Throws<SkiffException>(() => HostPorts.Reserve("web",
            [new PortMapping("127.0.0.1", 9000, 80), new PortMapping("127.0.0.1", 9001, 81)], false, binder));
        Assert.Single(HostPorts.Reserve("web", [new PortMapping("127.0.0.1", 9000, 80)], false, binder));
    }

    [Fact]
    public void The_real_binder_finds_a_listening_socket_and_chooses_free_ports()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int taken = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var e = Assert.Throws<SkiffException>(() => HostPorts.Reserve("web", [new PortMapping("127.0.0.1", taken, 80)], true));
        Assert.Equal($"driver failed programming external connectivity on endpoint web: Bind for 127.0.0.1:{taken} failed: port is already allocated", e.Message);
        var chosen = Assert.Single(HostPorts.Reserve("web", [new PortMapping("127.0.0.1", 0, 80)], true));
        Assert.InRange(chosen.HostPort, 1024, 65535);
        Assert.NotEqual(taken, chosen.HostPort);
    }
}
