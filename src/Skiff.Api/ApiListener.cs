using System.Net;
using System.Net.Sockets;
using Skiff.Linux;

namespace Skiff.Api;

/// <summary>
/// Where the daemon listens: a unix socket (the default, mode 0600, the user's alone) or,
/// only when asked with an explicit address, TCP. A unix socket another live daemon
/// answers on is refused; one nobody answers on is a leftover and is replaced.
/// </summary>
public sealed class ApiListener : IDisposable
{
    public const string SocketName = "skiff.sock";

    private ApiListener(Socket socket, string address, string? socketPath)
    {
        Socket = socket;
        Address = address;
        SocketPath = socketPath;
    }

    public Socket Socket { get; }

    /// <summary>"unix:///run/skiff/skiff.sock" or "tcp://127.0.0.1:2375": what DOCKER_HOST should say.</summary>
    public string Address { get; }

    /// <summary>The socket file, removed again on dispose; null for TCP.</summary>
    public string? SocketPath { get; }

    public bool IsTcp => SocketPath is null;

    /// <summary>$XDG_RUNTIME_DIR/skiff/skiff.sock rootless, /run/skiff/skiff.sock as root (the runtime directory of the keeper).</summary>
    public static string DefaultSocketPath() => Path.Combine(UserNamespaceKeeper.RuntimeDir(), SocketName);

    /// <summary>unix:///PATH, tcp://HOST:PORT, or a bare absolute path.</summary>
    public static ApiListener Open(string? host)
    {
        if (string.IsNullOrEmpty(host))
        {
            return OpenUnix(DefaultSocketPath());
        }
        if (host.StartsWith("unix://", StringComparison.Ordinal))
        {
            string path = host["unix://".Length..];
            if (path.Length == 0)
            {
                return OpenUnix(DefaultSocketPath());
            }
            return OpenUnix(Path.GetFullPath(path));
        }
        if (host.StartsWith('/'))
        {
            return OpenUnix(host);
        }
        if (host.StartsWith("tcp://", StringComparison.Ordinal))
        {
            return OpenTcp(host["tcp://".Length..].TrimEnd('/'));
        }
        throw SkiffException.Invalid($"invalid --host \"{host}\": use unix:///PATH or tcp://ADDRESS:PORT");
    }

    public static ApiListener OpenUnix(string path)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(path) > 107)
        {
            throw SkiffException.Invalid($"socket path too long for a unix socket (108 bytes at most): {path}");
        }
        string dir = Path.GetDirectoryName(path) ?? "/";
        if (!Directory.Exists(dir))
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        RemoveIfStale(path);
        // Bound under a temporary name, made 0600, then renamed into place: no moment where
        // the socket is reachable with the umask's mode.
        string tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        File.Delete(tmp);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(tmp));
            File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            socket.Listen(512);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            socket.Dispose();
            File.Delete(tmp);
            throw SkiffException.Unavailable($"cannot listen on {path}: {e.Message}");
        }
        return new ApiListener(socket, "unix://" + path, path);
    }

    /// <summary>Refuses a path a live daemon answers on; removes a dead socket; refuses a path that is not a socket.</summary>
    private static void RemoveIfStale(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path) && new FileInfo(path).LinkTarget is null)
        {
            return;
        }
        if (!Native.IsSocket(path))
        {
            throw SkiffException.Invalid($"{path} exists and is not a socket: refusing to replace it");
        }
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new SkiffException(ErrorCategory.Conflict, $"another daemon is listening on {path}: stop it first, or use --host unix:///OTHER/PATH");
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
            {
                // Nobody home: the socket of a daemon that was killed.
            }
            catch (SocketException e)
            {
                throw SkiffException.Unavailable($"cannot tell whether a daemon listens on {path}: {e.Message}");
            }
        }
        File.Delete(path);
    }

    public static ApiListener OpenTcp(string hostPort)
    {
        int colon = hostPort.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(hostPort[(colon + 1)..], out int port) || port is < 0 or > 65535)
        {
            throw SkiffException.Invalid($"invalid TCP address \"{hostPort}\": use tcp://ADDRESS:PORT");
        }
        string host = hostPort[..colon].Trim('[', ']');
        IPAddress address;
        if (host.Length == 0 || host == "0.0.0.0")
        {
            address = IPAddress.Any;
        }
        else if (host == "localhost")
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(host, out address!))
        {
            throw SkiffException.Invalid($"invalid TCP address \"{hostPort}\": the host must be an IP address");
        }
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(512);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw SkiffException.Unavailable($"cannot listen on tcp://{hostPort}: {e.Message}");
        }
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        string shown = bound.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{bound.Address}]" : bound.Address.ToString();
        return new ApiListener(socket, $"tcp://{shown}:{bound.Port}", null);
    }

    public void Dispose()
    {
        Socket.Dispose();
        if (SocketPath is not null)
        {
            try
            {
                File.Delete(SocketPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}
