namespace Skiff.Runtime.Network;

/// <summary>The user-mode network helper that connects a private network namespace.</summary>
public enum NetworkTool
{
    Pasta,
    Slirp4netns,
}

/// <summary>
/// A private network decided before anything starts: which helper, the published ports
/// with every host port known and checked free, and the addresses the container will
/// have (so /etc/hosts and /etc/resolv.conf can be written before the clone).
/// </summary>
public sealed record NetworkPlan(NetworkTool Tool, string ToolPath, string Endpoint, IReadOnlyList<PortMapping> Ports)
{
    /// <summary>Where the helper's pid file and API socket live for the few milliseconds of Attach.</summary>
    public string StateDir { get; init; } = "";

    public string IPAddress => PrivateNetwork.ContainerAddress;
    public int IPPrefixLen => PrivateNetwork.PrefixLength;
    public string Gateway => PrivateNetwork.GatewayAddress;
    public string Nameserver => PrivateNetwork.NameserverAddress;
}

/// <summary>
/// Networking for a container, behind a seam: the engine talks to this interface, its
/// unit tests to a fake. Prepare checks and decides without starting anything; Attach
/// connects a container that is cloned and paused, before it is let go.
/// </summary>
public interface INetworkSetup
{
    /// <summary>
    /// Chooses the helper, gives every kernel-chosen host port a number and checks each
    /// host port is free (Docker's "port is already allocated" otherwise). Nothing is started.
    /// </summary>
    /// <param name="endpoint">The container's name, for Docker's error messages.</param>
    /// <param name="rootless">
    /// Informational: how the helper joins is read from the container's namespaces at Attach
    /// (its user namespace ours or not, our uid 0 or not), and what a port needs from the kernel.
    /// </param>
    NetworkPlan Prepare(string endpoint, IReadOnlyList<PortMapping> ports, bool rootless);

    /// <summary>
    /// Connects the network namespace of containerPid (its user namespace already mapped):
    /// on return the interface, its address, the default route and the published ports
    /// are up. Throws with nothing left running when the helper fails.
    /// </summary>
    NetworkAttachment Attach(NetworkPlan plan, int containerPid);

    /// <summary>Prepare and Attach in one call, for callers that have nothing to do between them.</summary>
    NetworkAttachment Attach(int containerPid, IReadOnlyList<PortMapping> ports, bool rootless, string endpoint = "") =>
        Attach(Prepare(endpoint, ports, rootless), containerPid);
}

/// <summary>
/// A connected private network. The helper lives for as long as someone holds HoldFds
/// open (closing the last copy ends it: slirp4netns's --exit-fd; for pasta, a pipe whose
/// last writer closing sends it SIGTERM); a detached container's supervisor keeps a copy.
/// Dispose ends the helper now and waits until it is gone, so its ports are free again.
/// </summary>
public sealed class NetworkAttachment : IDisposable
{
    private readonly Action<bool>? _end;
    private List<int> _holdFds;
    private bool _disposed;

    /// <param name="end">
    /// Called once the hold fds are closed: with true it ends the helper (waits, then kills),
    /// with false it only lets go of what watches the helper. Null for a fake.
    /// </param>
    public NetworkAttachment(NetworkTool tool, int toolPid, IReadOnlyList<PortMapping> ports, IReadOnlyList<int> holdFds, Action<bool>? end)
    {
        Tool = tool;
        ToolPid = toolPid;
        Ports = ports;
        _holdFds = [.. holdFds];
        _end = end;
    }

    public NetworkTool Tool { get; }

    /// <summary>The helper's process, not a child of ours once Attach returns.</summary>
    public int ToolPid { get; }

    /// <summary>Close-on-exec fds to keep open exactly as long as the container lives.</summary>
    public IReadOnlyList<int> HoldFds => _holdFds;

    /// <summary>The published ports as bound on the host: kernel-chosen host ports filled in.</summary>
    public IReadOnlyList<PortMapping> Ports { get; }

    /// <summary>Docker's NetworkSettings.IPAddress, IPPrefixLen and Gateway.</summary>
    public string IPAddress => PrivateNetwork.ContainerAddress;
    public int IPPrefixLen => PrivateNetwork.PrefixLength;
    public string Gateway => PrivateNetwork.GatewayAddress;

    /// <summary>The DNS forwarder both helpers answer on inside the namespace.</summary>
    public string Nameserver => PrivateNetwork.NameserverAddress;

    /// <summary>The container's /etc/resolv.conf without --dns overrides: the forwarder, the host's search and options.</summary>
    public string ResolvConf(string hostResolvConf) => Network.ResolvConf.ForPrivateNetwork(hostResolvConf, Nameserver);

    /// <summary>
    /// Hands HoldFds to the caller (who passes them on to a supervisor, then closes them):
    /// from now on Dispose leaves the helper running.
    /// </summary>
    public IReadOnlyList<int> Detach()
    {
        var fds = _holdFds;
        _holdFds = [];
        if (!_disposed)
        {
            _disposed = true;
            _end?.Invoke(false);
        }
        return fds;
    }

    /// <summary>
    /// Closes the hold fds, so the helper starts to exit (it takes a few tens of ms for the
    /// kernel to take its sockets down) while the caller cleans up the rest; Dispose then waits.
    /// </summary>
    public void StartRelease()
    {
        foreach (int fd in _holdFds)
        {
            Interop.Libc.close(fd);
        }
        _holdFds = [];
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        StartRelease();
        _end?.Invoke(true);
    }
}
