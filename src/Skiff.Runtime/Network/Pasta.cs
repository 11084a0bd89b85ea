using System.Globalization;

namespace Skiff.Runtime.Network;

/// <summary>
/// pasta (package passt): a user-mode TCP/UDP translator that joins the container's
/// namespaces, makes the tap device, sets address and route, and forks into the background
/// once all of that is done, so its foreground exit is the readiness signal.
///
/// It is given the namespaces as inherited fds (/proc/self/fd/N): as root it keeps only a
/// few capabilities and may not open /proc/PID/ns of the container. pasta of Debian 12 does
/// not quit when the container goes, so it also inherits the read end of a pipe set to
/// send it SIGTERM (O_ASYNC, F_SETSIG) when the last write end closes: that write end is
/// the attachment's hold fd. A newer pasta closes inherited fds at start; then it is
/// retried with /proc/PID paths, and quits by itself once PID is gone.
/// </summary>
internal static class Pasta
{
    private const int NetFd = 3;
    private const int UserFd = 4;
    private const int HoldFd = 5;

    public static NetworkAttachment Attach(NetworkPlan plan, NamespaceTarget target)
    {
        bool asRoot = Interop.Libc.geteuid() == 0;
        try
        {
            return Start(plan, target, asRoot, inheritedFds: true);
        }
        catch (InheritedFdsClosed)
        {
            return Start(plan, target, asRoot, inheritedFds: false);
        }
    }

    /// <summary>pasta's command line; the namespaces as paths (inherited fds or /proc/PID).</summary>
    public static List<string> Arguments(NetworkPlan plan, bool asRoot, string pidFile, string netns, string? userns)
    {
        var a = new List<string>
        {
            "pasta", "--config-net", "--quiet", "--ns-ifname", "eth0",
            "--address", PrivateNetwork.ContainerAddress,
            "--netmask", PrivateNetwork.PrefixLength.ToString(CultureInfo.InvariantCulture),
            "--gateway", PrivateNetwork.GatewayAddress,
            "--dns-forward", PrivateNetwork.NameserverAddress,
            // The gateway is not the host's loopback, and nothing the host listens on is
            // forwarded into the container: only what -p publishes goes in.
            "--no-map-gw", "-T", "none", "-U", "none",
            "--pid", pidFile,
        };
        if (asRoot)
        {
            // Root, or root of the keeper's namespace: stay root (pasta would become nobody)
            // so it can join the namespaces; it keeps only the capabilities it needs.
            a.AddRange(["--runas", "0"]);
        }
        foreach (var (option, protocol) in new[] { ("-t", "tcp"), ("-u", "udp") })
        {
            var specs = Specs(plan.Ports.Where(p => p.Protocol == protocol));
            if (specs.Count == 0)
            {
                a.AddRange([option, "none"]);
            }
            foreach (var (spec, _) in specs)
            {
                a.AddRange([option, spec]);
            }
        }
        if (userns is not null)
        {
            a.AddRange(["--userns", userns]);
        }
        a.AddRange(["--netns", netns]);
        return a;
    }

    /// <summary>
    /// pasta's -t/-u specs ([ADDR/]HOST[-END]:CONTAINER[-END]): runs of consecutive ports on
    /// one address become one range. Each spec keeps the mapping it starts with, for errors.
    /// </summary>
    public static List<(string Spec, PortMapping First)> Specs(IEnumerable<PortMapping> ports)
    {
        var specs = new List<(string, PortMapping)>();
        var list = ports.ToList();
        for (int i = 0; i < list.Count;)
        {
            var first = list[i];
            int n = 1;
            while (i + n < list.Count
                && list[i + n].HostIp == first.HostIp
                && list[i + n].HostPort == first.HostPort + n
                && list[i + n].ContainerPort == first.ContainerPort + n)
            {
                n++;
            }
            string prefix = first.HostIp.Length > 0 ? first.HostIp + "/" : "";
            string spec = n == 1
                ? string.Create(CultureInfo.InvariantCulture, $"{prefix}{first.HostPort}:{first.ContainerPort}")
                : string.Create(CultureInfo.InvariantCulture,
                    $"{prefix}{first.HostPort}-{first.HostPort + n - 1}:{first.ContainerPort}-{first.ContainerPort + n - 1}");
            specs.Add((spec, first));
            i += n;
        }
        return specs;
    }

    private static unsafe NetworkAttachment Start(NetworkPlan plan, NamespaceTarget target, bool asRoot, bool inheritedFds)
    {
        string pidFile = PrivateNetwork.StateFile(plan, "pasta", target.Pid, ".pid");
        int* hold = stackalloc int[2] { -1, -1 };
        var fds = new List<(int, int)>();
        string netns, userns;
        if (inheritedFds)
        {
            if (NetworkNative.pipe2(hold, NetworkNative.O_CLOEXEC) < 0)
            {
                throw new SystemCallException("pipe for pasta's lifetime", NetworkNative.LastError);
            }
            fds.Add((target.NetFd, NetFd));
            fds.Add((hold[0], HoldFd));
            if (target.UserFd >= 0)
            {
                fds.Add((target.UserFd, UserFd));
            }
            netns = $"/proc/self/fd/{NetFd}";
            userns = $"/proc/self/fd/{UserFd}";
        }
        else
        {
            netns = $"/proc/{target.Pid}/ns/net";
            userns = $"/proc/{target.Pid}/ns/user";
        }
        var argv = Arguments(plan, asRoot, pidFile, netns, target.UserFd >= 0 ? userns : null);
        int daemon = 0;
        try
        {
            using (var fg = ToolProcess.Start(plan.ToolPath, argv, fds, newSession: true))
            {
                int code = fg.WaitExit(PrivateNetwork.StartTimeoutMs);
                if (code != 0 && !(code == ToolProcess.Unknown && File.Exists(pidFile)))
                {
                    string output = fg.Output();
                    fg.Kill();
                    if (inheritedFds && output.Contains("/proc/self/fd/", StringComparison.Ordinal))
                    {
                        throw new InheritedFdsClosed();
                    }
                    throw Failure(plan, code, output);
                }
            }
            daemon = ReadPid(pidFile);
            if (inheritedFds)
            {
                // From now on the last close of hold[1] sends pasta SIGTERM.
                if (NetworkNative.fcntl(hold[0], NetworkNative.F_SETOWN, daemon) < 0
                    || NetworkNative.fcntl(hold[0], NetworkNative.F_SETSIG, NetworkNative.SIGTERM) < 0
                    || NetworkNative.fcntl(hold[0], NetworkNative.F_SETFL,
                        NetworkNative.fcntl(hold[0], NetworkNative.F_GETFL, 0) | NetworkNative.O_ASYNC) < 0)
                {
                    throw new SystemCallException("tie pasta's lifetime to its pipe", NetworkNative.LastError);
                }
            }
            var watch = ToolWatch.Of(daemon);
            IReadOnlyList<int> holdFds = inheritedFds ? [hold[1]] : [];
            hold[1] = -1;
            return new NetworkAttachment(NetworkTool.Pasta, daemon, plan.Ports, holdFds, watch.End);
        }
        catch
        {
            Interop.Libc.close(hold[1]);
            hold[1] = -1;
            if (daemon > 0)
            {
                ToolWatch.Of(daemon).End(true);
            }
            throw;
        }
        finally
        {
            Interop.Libc.close(hold[0]);
            Interop.Libc.close(hold[1]);
            File.Delete(pidFile);
        }
    }

    private static int ReadPid(string pidFile)
    {
        string text = File.Exists(pidFile) ? File.ReadAllText(pidFile).Trim() : "";
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0
            ? pid
            : throw SkiffException.Internal($"pasta started but wrote no pid to {pidFile}");
    }

    /// <summary>pasta's own words, turned into what a user can act on.</summary>
    internal static SkiffException Failure(NetworkPlan plan, int code, string output)
    {
        // "Failed to bind any port for '-t 127.0.0.1/18080:80', exiting": taken since Prepare looked.
        const string bindFailed = "Failed to bind any port for '";
        int at = output.IndexOf(bindFailed, StringComparison.Ordinal);
        if (at >= 0)
        {
            string quoted = output[(at + bindFailed.Length)..];
            quoted = quoted[..Math.Max(0, quoted.IndexOf('\''))];
            string spec = quoted.Length > 3 ? quoted[3..] : quoted;
            var all = Specs(plan.Ports.Where(p => p.Protocol == "tcp")).Concat(Specs(plan.Ports.Where(p => p.Protocol == "udp")));
            foreach (var (s, first) in all)
            {
                if (s == spec)
                {
                    return new SkiffException(ErrorCategory.Conflict,
                        $"{PrivateNetwork.PublishFailure(plan)}Bind for {first.HostEndpoint} failed: port is already allocated");
                }
            }
        }
        if (output.Contains("External interface not usable", StringComparison.Ordinal)
            || output.Contains("No external routable interface", StringComparison.Ordinal))
        {
            return SkiffException.Unavailable(
                "pasta needs a default route on the host to connect the container; install slirp4netns (apt-get install slirp4netns), "
                + "or use --network none");
        }
        if (output.Contains("Failed to open tun", StringComparison.Ordinal))
        {
            return SkiffException.Unavailable(
                "pasta could not open /dev/net/tun in the container's namespace: it must be readable and writable by you (chmod 0666 /dev/net/tun)");
        }
        string why = output.Length > 0 ? output.Replace('\n', ';') : code < 0 ? "no answer in 10 s" : $"exit status {code}";
        return SkiffException.Unavailable($"pasta failed to connect the container's network: {why}");
    }

    /// <summary>This pasta closed the fds it inherited (a newer release): start it again with /proc/PID paths.</summary>
    private sealed class InheritedFdsClosed : Exception;
}
