using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Skiff.Runtime.Network;

/// <summary>Binds a host port the way the helper will, to see whether it can (the seam tests fake).</summary>
public interface IPortBinder
{
    /// <summary>
    /// Binds (and, for TCP, listens on) ip:port; port 0 lets the kernel choose. Returns 0
    /// and the bound socket, kept until the caller disposes it, or an errno.
    /// </summary>
    int Bind(string ip, int port, string protocol, out int boundPort, out IDisposable? held);
}

/// <summary>
/// Published ports checked on the host before anything starts: each host port is bound
/// (all of them at once, so two -p for one port collide too) and let go again, and a
/// port the kernel chooses gets its number here. Errors read as Docker's.
/// </summary>
public static class HostPorts
{
    private const int EADDRINUSE = 98;
    private const int EADDRNOTAVAIL = 99;
    private const int EAFNOSUPPORT = 97;

    /// <param name="dualStack">HostIp "" binds [::] as well as 0.0.0.0 (pasta does; slirp4netns is IPv4 only).</param>
    public static IReadOnlyList<PortMapping> Reserve(string endpoint, IReadOnlyList<PortMapping> ports, bool dualStack, IPortBinder? binder = null)
    {
        binder ??= SocketPortBinder.Instance;
        var held = new List<IDisposable>();
        var resolved = new List<PortMapping>(ports.Count);
        try
        {
            foreach (var p in ports)
            {
                resolved.Add(ReserveOne(endpoint, p, dualStack, binder, held));
            }
            return resolved;
        }
        finally
        {
            foreach (var h in held)
            {
                h.Dispose();
            }
        }
    }

    private static PortMapping ReserveOne(string endpoint, PortMapping p, bool dualStack, IPortBinder binder, List<IDisposable> held)
    {
        string[] addresses = p.HostIp.Length > 0 ? [p.HostIp] : dualStack ? ["0.0.0.0", "::"] : ["0.0.0.0"];
        if (p.HostPort != 0 && p.HostPortEnd == 0)
        {
            int err = BindAll(binder, addresses, p.HostPort, p.Protocol, held, out _);
            if (err != 0)
            {
                throw Failure(endpoint, p, p.HostPort, err);
            }
            return p;
        }
        if (p.HostPortEnd > 0)
        {
            int last = 0;
            for (int port = p.HostPort; port <= p.HostPortEnd; port++)
            {
                last = BindAll(binder, addresses, port, p.Protocol, held, out _);
                if (last == 0)
                {
                    return p with { HostPort = port, HostPortEnd = 0 };
                }
                if (last != EADDRINUSE)
                {
                    throw Failure(endpoint, p with { HostPortEnd = 0 }, port, last);
                }
            }
            throw Failure(endpoint, p, p.HostPort, last);
        }
        // The kernel's choice on the first address, then the same number on the others.
        for (int attempt = 0; ; attempt++)
        {
            int err = BindAll(binder, addresses, 0, p.Protocol, held, out int chosen);
            if (err == 0)
            {
                return p with { HostPort = chosen };
            }
            if (err != EADDRINUSE || attempt == 10)
            {
                throw Failure(endpoint, p, 0, err);
            }
        }
    }

    /// <summary>Binds port (0: chosen on the first address) on every address; [::] may be missing when "" asked for it.</summary>
    private static int BindAll(IPortBinder binder, string[] addresses, int port, string protocol, List<IDisposable> held, out int chosen)
    {
        chosen = port;
        var mine = new List<IDisposable>();
        for (int i = 0; i < addresses.Length; i++)
        {
            int err = binder.Bind(addresses[i], chosen, protocol, out int bound, out var h);
            if (err == 0)
            {
                chosen = bound;
                mine.Add(h!);
                continue;
            }
            bool optionalV6 = addresses.Length > 1 && addresses[i] == "::" && err is EAFNOSUPPORT or EADDRNOTAVAIL;
            if (optionalV6)
            {
                continue;
            }
            foreach (var m in mine)
            {
                m.Dispose();
            }
            return err;
        }
        held.AddRange(mine);
        return 0;
    }

    private static SkiffException Failure(string endpoint, PortMapping p, int port, int err)
    {
        string prefix = $"driver failed programming external connectivity on endpoint {EndpointName(endpoint)}: ";
        var at = p with { HostPort = port };
        switch (err)
        {
            case EADDRINUSE:
                return new SkiffException(ErrorCategory.Conflict, $"{prefix}Bind for {at.HostEndpoint} failed: port is already allocated");
            case Errno.EACCES:
            case Errno.EPERM:
                return new SkiffException(ErrorCategory.Unavailable, prefix + PrivilegedPort(port));
            default:
                string family = p.IsIPv6 ? "6" : "4";
                string ip = p.HostIp.Length == 0 ? "0.0.0.0" : p.IsIPv6 ? $"[{p.HostIp}]" : p.HostIp;
                string why = err == EADDRNOTAVAIL ? "cannot assign requested address" : Errno.Describe(err).ToLowerInvariant();
                return new SkiffException(ErrorCategory.Unavailable,
                    string.Create(CultureInfo.InvariantCulture, $"{prefix}Error starting userland proxy: listen {p.Protocol}{family} {ip}:{port}: bind: {why}"));
        }
    }

    /// <summary>Docker's endpoint is the container's name; an unnamed caller still gets a readable message.</summary>
    public static string EndpointName(string endpoint) => endpoint.Length > 0 ? endpoint : "skiff";

    /// <summary>Rootless Docker's words for a port below net.ipv4.ip_unprivileged_port_start.</summary>
    public static string PrivilegedPort(int port)
    {
        string current = "1024";
        try
        {
            current = ProcFile.ReadAllText("/proc/sys/net/ipv4/ip_unprivileged_port_start").Trim();
        }
        catch (IOException)
        {
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"cannot expose privileged port {port}, you can add 'net.ipv4.ip_unprivileged_port_start={port}' to /etc/sysctl.conf (currently {current}), or choose a larger port number (>= {current})");
    }

    /// <summary>The real binder: a socket with SO_REUSEADDR for TCP (as the helpers bind), IPV6_V6ONLY for [::].</summary>
    private sealed class SocketPortBinder : IPortBinder
    {
        public static readonly SocketPortBinder Instance = new();

        public int Bind(string ip, int port, string protocol, out int boundPort, out IDisposable? held)
        {
            boundPort = 0;
            held = null;
            var address = IPAddress.Parse(ip);
            bool tcp = protocol == "tcp";
            Socket socket;
            try
            {
                socket = new Socket(address.AddressFamily, tcp ? SocketType.Stream : SocketType.Dgram, tcp ? ProtocolType.Tcp : ProtocolType.Udp);
            }
            catch (SocketException e)
            {
                return ErrnoOf(e);
            }
            try
            {
                if (address.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.IPv6Only, true);
                }
                if (tcp)
                {
                    socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                }
                socket.Bind(new IPEndPoint(address, port));
                if (tcp)
                {
                    socket.Listen(1);
                }
                boundPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
                held = socket;
                return 0;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                return ErrnoOf(e);
            }
        }

        private static int ErrnoOf(SocketException e) => e.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse => EADDRINUSE,
            SocketError.AddressNotAvailable => EADDRNOTAVAIL,
            SocketError.AddressFamilyNotSupported => EAFNOSUPPORT,
            SocketError.AccessDenied => Errno.EACCES,
            _ => e.NativeErrorCode > 0 && e.NativeErrorCode < 4096 ? e.NativeErrorCode : Errno.EINVAL,
        };
    }
}
