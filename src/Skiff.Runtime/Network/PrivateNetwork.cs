using Skiff.Linux;

namespace Skiff.Runtime.Network;

/// <summary>
/// A private network without privileges: the container's own network namespace, joined
/// from the host by pasta or slirp4netns, which carry its traffic through ordinary
/// sockets of the calling user and publish its ports. Both tools give the same view from
/// inside: 10.0.2.100/24 on eth0 (tap0 for slirp4netns), gateway 10.0.2.2, DNS forwarder
/// 10.0.2.3; the host's loopback is not reachable (Docker's behaviour too).
/// </summary>
public sealed class PrivateNetwork(NetworkTools tools, IPortBinder? binder = null) : INetworkSetup
{
    public const string ContainerAddress = "10.0.2.100";
    public const int PrefixLength = 24;
    public const string GatewayAddress = "10.0.2.2";
    public const string NameserverAddress = "10.0.2.3";

    /// <summary>How long a helper may take to come up before Attach gives up on it.</summary>
    internal const int StartTimeoutMs = 10_000;

    public static PrivateNetwork FromEnvironment() => new(NetworkTools.FromEnvironment());

    public NetworkPlan Prepare(string endpoint, IReadOnlyList<PortMapping> ports, bool rootless)
    {
        var (tool, path) = tools.Choose();
        foreach (var p in ports)
        {
            if (p.Protocol == "sctp")
            {
                throw SkiffException.Invalid($"cannot publish {p}: skiff's private network carries tcp and udp, not sctp");
            }
            if (tool == NetworkTool.Slirp4netns && p.IsIPv6)
            {
                throw SkiffException.Unavailable(
                    $"cannot publish {p}: slirp4netns publishes on IPv4 addresses only; install pasta (apt-get install passt) for IPv6");
            }
        }
        if (Interop.Libc.access("/dev/net/tun", 6 /* R_OK | W_OK */) != 0)
        {
            throw SkiffException.Unavailable(
                "private networking needs /dev/net/tun readable and writable by you (udev makes it mode 0666: chmod 0666 /dev/net/tun); "
                + "or use --network none or --network host");
        }
        var resolved = HostPorts.Reserve(endpoint, ports, dualStack: tool == NetworkTool.Pasta, binder);
        return new NetworkPlan(tool, path, endpoint, resolved) { StateDir = StateDirectory() };
    }

    public NetworkAttachment Attach(NetworkPlan plan, int containerPid)
    {
        Directory.CreateDirectory(plan.StateDir);
        using var target = NamespaceTarget.Open(containerPid);
        return plan.Tool switch
        {
            NetworkTool.Pasta => Pasta.Attach(plan, target),
            NetworkTool.Slirp4netns => Slirp4netns.Attach(plan, target),
            _ => throw new ArgumentOutOfRangeException(nameof(plan)),
        };
    }

    /// <summary>$XDG_RUNTIME_DIR/skiff/net (or the keeper's or root's runtime directory).</summary>
    private static string StateDirectory() => Path.Combine(UserNamespaceKeeper.RuntimeDir(), "net");

    /// <summary>A unique name in the state directory, for one helper's pid file or socket.</summary>
    internal static string StateFile(NetworkPlan plan, string prefix, int containerPid, string suffix)
    {
        Span<byte> r = stackalloc byte[4];
        Interop.Libc.GetRandom(r);
        return Path.Combine(plan.StateDir, $"{prefix}-{containerPid}-{Convert.ToHexStringLower(r)}{suffix}");
    }

    /// <summary>Docker's prefix for a failure to publish a port.</summary>
    internal static string PublishFailure(NetworkPlan plan) =>
        $"driver failed programming external connectivity on endpoint {HostPorts.EndpointName(plan.Endpoint)}: ";
}

/// <summary>
/// The container's network namespace, and its user namespace when that is not ours (a
/// rootless container with its own; not the keeper's, which this process joined at start,
/// nor none as root). Opened here and handed to the helper as inherited fds, because a
/// helper that has dropped capabilities may not open /proc/PID/ns of a process that has them.
/// </summary>
internal sealed class NamespaceTarget : IDisposable
{
    private NamespaceTarget(int pid, int netFd, int userFd)
    {
        Pid = pid;
        NetFd = netFd;
        UserFd = userFd;
    }

    public int Pid { get; }
    public int NetFd { get; private set; }

    /// <summary>-1 when the container shares our user namespace.</summary>
    public int UserFd { get; private set; }

    public static NamespaceTarget Open(int pid)
    {
        int net = OpenNs(pid, "net");
        int user = -1;
        try
        {
            string ours = new FileInfo("/proc/self/ns/user").LinkTarget ?? "";
            string theirs = new FileInfo($"/proc/{pid}/ns/user").LinkTarget ?? "";
            if (ours != theirs)
            {
                user = OpenNs(pid, "user");
            }
            return new NamespaceTarget(pid, net, user);
        }
        catch
        {
            Interop.Libc.close(net);
            throw;
        }
    }

    private static int OpenNs(int pid, string kind)
    {
        string path = $"/proc/{pid}/ns/{kind}";
        int fd = Interop.Libc.open(path, Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC);
        if (fd < 0)
        {
            int err = NetworkNative.LastError;
            throw new SystemCallException($"open {path}", err, err == Errno.ENOENT ? ErrorCategory.NotFound : ErrorCategory.Internal);
        }
        return fd;
    }

    public void Dispose()
    {
        Interop.Libc.close(NetFd);
        Interop.Libc.close(UserFd);
        NetFd = UserFd = -1;
    }
}
