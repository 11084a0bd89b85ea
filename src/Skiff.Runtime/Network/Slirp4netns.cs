using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Skiff.Runtime.Network;

/// <summary>
/// slirp4netns: a user-mode TCP/IP stack behind a tap device in the container's namespace.
/// It writes to --ready-fd once the interface is configured, takes published ports over
/// its API socket, and exits when the write end of --exit-fd closes (the attachment's
/// hold fd). Started through setsid --fork so it is nobody's child once we are gone.
/// Running as root (real, or the keeper's), it is sandboxed (own mount namespace,
/// capabilities dropped, seccomp); as a plain user it has nothing to drop, and its
/// sandbox fails to join a user namespace made with a single mapping.
/// </summary>
internal static class Slirp4netns
{
    private const int NetFd = 3;
    private const int UserFd = 4;
    private const int ReadyFd = 5;
    private const int ExitFd = 6;

    public static List<string> Arguments(string apiSocket, bool joinUserNs, bool sandbox) =>
    [
        "slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
        .. sandbox ? new[] { "--enable-sandbox", "--enable-seccomp" } : [],
        $"--ready-fd={ReadyFd}", $"--exit-fd={ExitFd}", $"--api-socket={apiSocket}",
        "--netns-type=path", .. joinUserNs ? new[] { $"--userns-path=/proc/self/fd/{UserFd}" } : [],
        $"/proc/self/fd/{NetFd}", "eth0",
    ];

    /// <summary>The add_hostfwd request of one mapping (slirp4netns forwards to 10.0.2.100 by default).</summary>
    public static string AddRequest(PortMapping p)
    {
        string host = p.HostIp.Length > 0 ? p.HostIp : "0.0.0.0";
        return "{\"execute\":\"add_hostfwd\",\"arguments\":{"
            + $"\"proto\":\"{p.Protocol}\",\"host_addr\":\"{host}\",\"host_port\":{Num(p.HostPort)},"
            + $"\"guest_addr\":\"{PrivateNetwork.ContainerAddress}\",\"guest_port\":{Num(p.ContainerPort)}" + "}}";
    }

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    public static unsafe NetworkAttachment Attach(NetworkPlan plan, NamespaceTarget target)
    {
        string api = PrivateNetwork.StateFile(plan, "slirp", target.Pid, ".sock");
        int* ready = stackalloc int[2] { -1, -1 };
        int* exit = stackalloc int[2] { -1, -1 };
        ToolProcess? started = null;
        int pid = 0;
        try
        {
            if (NetworkNative.pipe2(ready, NetworkNative.O_CLOEXEC) < 0 || NetworkNative.pipe2(exit, NetworkNative.O_CLOEXEC) < 0)
            {
                throw new SystemCallException("pipes for slirp4netns", NetworkNative.LastError);
            }
            var fds = new List<(int, int)> { (target.NetFd, NetFd), (ready[1], ReadyFd), (exit[0], ExitFd) };
            if (target.UserFd >= 0)
            {
                fds.Add((target.UserFd, UserFd));
            }
            var argv = Arguments(api, target.UserFd >= 0, sandbox: Interop.Libc.geteuid() == 0);
            string? setsid = NetworkTools.FindInPath("setsid");
            started = setsid is not null
                ? ToolProcess.Start(setsid, ["setsid", "--fork", plan.ToolPath, .. argv.Skip(1)], fds, newSession: false)
                : ToolProcess.Start(plan.ToolPath, argv, fds, newSession: true);
            Interop.Libc.close(ready[1]);
            ready[1] = -1;
            Interop.Libc.close(exit[0]);
            exit[0] = -1;
            if (setsid is not null && started.WaitExit(PrivateNetwork.StartTimeoutMs) is not (0 or ToolProcess.Unknown))
            {
                throw Failure("setsid --fork failed", started.Output());
            }
            if (!AwaitReady(ready[0]))
            {
                throw Failure("it stopped before the network was up", started.Output());
            }
            pid = setsid is null ? started.Pid : 0;
            foreach (var p in plan.Ports)
            {
                string? error = Request(api, AddRequest(p), ref pid);
                if (error is not null)
                {
                    throw PortFailure(plan, p, error);
                }
            }
            if (pid == 0)
            {
                Request(api, """{"execute":"list_hostfwd"}""", ref pid);
            }
            var watch = ToolWatch.Of(pid);
            IReadOnlyList<int> hold = [exit[1]];
            exit[1] = -1;
            return new NetworkAttachment(NetworkTool.Slirp4netns, pid, plan.Ports, hold, watch.End);
        }
        catch
        {
            // Closing the exit fd ends slirp4netns; then make sure it is gone.
            Interop.Libc.close(exit[1]);
            exit[1] = -1;
            if (pid > 0)
            {
                ToolWatch.Of(pid).End(true);
            }
            else
            {
                started?.Kill();
            }
            throw;
        }
        finally
        {
            started?.Dispose();
            for (int i = 0; i < 2; i++)
            {
                Interop.Libc.close(ready[i]);
                Interop.Libc.close(exit[i]);
            }
            File.Delete(api);
        }
    }

    /// <summary>slirp4netns writes "1" once configured; EOF means it died first.</summary>
    private static unsafe bool AwaitReady(int fd)
    {
        if (!ToolProcess.Readable(fd, PrivateNetwork.StartTimeoutMs))
        {
            return false;
        }
        byte b;
        return Interop.Libc.ReadRetry(fd, &b, 1) == 1;
    }

    /// <summary>One API request per connection; null on success, else slirp4netns's error text. Learns the helper's pid from the socket.</summary>
    private static string? Request(string api, string request, ref int pid)
    {
        using var s = ConnectApi(api);
        if (pid == 0)
        {
            Span<byte> cred = stackalloc byte[12];
            s.GetRawSocketOption(1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, cred);
            pid = BitConverter.ToInt32(cred);
        }
        s.Send(Encoding.UTF8.GetBytes(request));
        s.Shutdown(SocketShutdown.Send);
        var reply = new MemoryStream();
        Span<byte> buf = stackalloc byte[1024];
        int n;
        while ((n = s.Receive(buf)) > 0)
        {
            reply.Write(buf[..n]);
        }
        try
        {
            using var doc = JsonDocument.Parse(reply.ToArray());
            if (doc.RootElement.TryGetProperty("error", out var error))
            {
                return error.TryGetProperty("desc", out var desc) ? desc.GetString() ?? "error" : error.ToString();
            }
            return null;
        }
        catch (JsonException)
        {
            return $"unreadable answer: {Encoding.UTF8.GetString(reply.ToArray())}";
        }
    }

    /// <summary>
    /// Sandboxed, slirp4netns creates its API socket just after it reports ready: the socket
    /// is there within a fraction of a millisecond, so a missing one is retried briefly.
    /// </summary>
    private static Socket ConnectApi(string api)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var spin = new SpinWait();
        while (true)
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                s.Connect(new UnixDomainSocketEndPoint(api));
                return s;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.ConnectionRefused
                or SocketError.AddressFamilyNotSupported || e.NativeErrorCode == Errno.ENOENT)
            {
                s.Dispose();
                if (clock.ElapsedMilliseconds > PrivateNetwork.StartTimeoutMs)
                {
                    throw SkiffException.Unavailable($"slirp4netns is up but its API socket {api} is not: {e.Message}");
                }
                spin.SpinOnce();
            }
        }
    }

    private static SkiffException PortFailure(NetworkPlan plan, PortMapping p, string error) =>
        // Prepare found the port free; slirp4netns failing to bind it means it was taken since.
        error.Contains("add_hostfwd", StringComparison.Ordinal) && !error.Contains("bad arguments", StringComparison.Ordinal)
            ? new SkiffException(ErrorCategory.Conflict,
                $"{PrivateNetwork.PublishFailure(plan)}Bind for {p.HostEndpoint} failed: port is already allocated")
            : SkiffException.Unavailable($"{PrivateNetwork.PublishFailure(plan)}slirp4netns refused {p}: {error}");

    private static SkiffException Failure(string what, string output)
    {
        if (output.Contains("/dev/net/tun", StringComparison.Ordinal) || output.Contains("open(\"/dev/net/tun\")", StringComparison.Ordinal))
        {
            return SkiffException.Unavailable(
                "slirp4netns could not open /dev/net/tun: it must be readable and writable by you (chmod 0666 /dev/net/tun)");
        }
        string detail = output.Length > 0 ? ": " + output.Replace('\n', ';') : "";
        return SkiffException.Unavailable($"slirp4netns failed to connect the container's network: {what}{detail}");
    }
}
