using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Skiff.Runtime.Supervision;

/// <summary>
/// The program that becomes a supervisor: this binary under the name skiff-supervisor
/// (argv[0] picks the face before .NET starts). Tests substitute a loader that runs the
/// shared shim under that name.
/// </summary>
public sealed record SupervisorProgram(string Path, IReadOnlyList<string> ArgvPrefix)
{
    public static SupervisorProgram Self { get; } = new("/proc/self/exe", [Interop.Shim.SupervisorArgv0]);
}

/// <summary>
/// Starts supervisors (native/supervisor.c) and talks to them over DIR/attach.sock:
/// stop, signal, resize, state. Attach is <see cref="AttachClient"/>.
/// </summary>
public static class Supervisor
{
    public const string SocketName = "attach.sock";

    /// <summary>
    /// Starts a supervisor for the container directory and waits until it has launched
    /// the container: returns its pid, or throws with the launch's error (126 and 127
    /// keep their categories, so the CLI exits as Docker would).
    /// </summary>
    /// <param name="spawned">Runs once the supervisor listens and before its launch is awaited: attach here with WaitAttach.</param>
    public static int Spawn(string dir, SupervisorOptions options, IReadOnlyList<string> workerArgv, SupervisorProgram? program = null, Action? spawned = null)
    {
        if (workerArgv.Count == 0)
        {
            throw SkiffException.Invalid("the supervisor needs a worker command");
        }
        program ??= SupervisorProgram.Self;
        var argv = new List<string>(program.ArgvPrefix) { dir };
        argv.AddRange(options.ToArguments());
        argv.AddRange(workerArgv);

        int readyFd = -1;
        int rc;
        using (var native = new NativeStrings(argv))
        {
            byte[] path = Encoding.UTF8.GetBytes(program.Path + "\0");
            unsafe
            {
                fixed (byte* p = path)
                {
                    rc = Interop.Shim.SupervisorSpawn(p, native.Array, null, &readyFd);
                }
            }
        }
        SystemCallException.Check(rc, $"start a supervisor ({program.Path})");
        string line;
        try
        {
            spawned?.Invoke();
            line = ReadReadyLine(readyFd);
        }
        finally
        {
            Interop.Libc.close(readyFd);
        }
        return ParseReadyLine(line, rc);
    }

    /// <summary>"ok PID" or "error CODE MESSAGE" (the first process's exit code when there is no line).</summary>
    public static int ParseReadyLine(string line, int firstExit)
    {
        if (line.StartsWith("ok ", StringComparison.Ordinal) &&
            int.TryParse(line.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0)
        {
            return pid;
        }
        if (line.StartsWith("error ", StringComparison.Ordinal))
        {
            string rest = line[6..];
            int space = rest.IndexOf(' ');
            string codeText = space < 0 ? rest : rest[..space];
            string message = space < 0 ? "the container failed to start" : rest[(space + 1)..];
            int code = int.TryParse(codeText, NumberStyles.None, CultureInfo.InvariantCulture, out int c) ? c : 125;
            throw new SkiffException(code switch
            {
                126 => ErrorCategory.CannotInvoke,
                127 => ErrorCategory.CommandNotFound,
                _ => ErrorCategory.Internal,
            }, message);
        }
        throw SkiffException.Internal(line.Length == 0
            ? $"the supervisor exited before it started the container (exit status {firstExit})"
            : $"the supervisor said \"{line}\"");
    }

    private static unsafe string ReadReadyLine(int fd)
    {
        var bytes = new List<byte>(64);
        byte* buf = stackalloc byte[256];
        while (true)
        {
            nint n = Interop.Libc.ReadRetry(fd, buf, 256);
            if (n <= 0)
            {
                break;
            }
            bytes.AddRange(new ReadOnlySpan<byte>(buf, (int)n));
        }
        string text = Encoding.UTF8.GetString(bytes.ToArray());
        int nl = text.IndexOf('\n');
        return nl < 0 ? text : text[..nl];
    }

    /// <summary>
    /// Docker's stop: the signal, then SIGKILL after the timeout (-1: never), and no more
    /// restarts. Returns once the container has exited and its state is written; false
    /// when no supervisor answers (the container is not running).
    /// </summary>
    public static bool Stop(string dir, int signal, int timeoutSeconds)
    {
        Span<byte> request = stackalloc byte[9];
        request[0] = (byte)'S';
        BinaryPrimitives.WriteInt32BigEndian(request[1..], signal);
        BinaryPrimitives.WriteInt32BigEndian(request[5..], timeoutSeconds);
        using var socket = SupervisorSocket.TryConnect(dir);
        if (socket is null)
        {
            return false;
        }
        socket.Send(request);
        // The supervisor closes the connection once the state is on disk.
        Span<byte> sink = stackalloc byte[64];
        try
        {
            while (socket.Receive(sink) > 0)
            {
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // It went away at the end instead of closing politely: the same news.
        }
        return true;
    }

    /// <summary>Sends a signal to the container (restarts unchanged).</summary>
    public static void Signal(string dir, int signal)
    {
        Span<byte> request = stackalloc byte[5];
        request[0] = (byte)'K';
        BinaryPrimitives.WriteInt32BigEndian(request[1..], signal);
        int reply = Request(dir, request);
        if (reply == Errno.ESRCH)
        {
            throw NotRunning(dir);
        }
        if (reply != 0)
        {
            throw new SystemCallException($"signal {signal} to the container in {dir}", reply);
        }
    }

    /// <summary>Sets the container's terminal size (nothing without a terminal).</summary>
    public static void Resize(string dir, ushort rows, ushort cols)
    {
        Span<byte> request = stackalloc byte[5];
        request[0] = (byte)'R';
        BinaryPrimitives.WriteUInt16BigEndian(request[1..], rows);
        BinaryPrimitives.WriteUInt16BigEndian(request[3..], cols);
        Request(dir, request);
    }

    /// <summary>The supervisor's own view of the state, or null when none answers.</summary>
    public static ContainerState? QueryState(string dir)
    {
        using var socket = SupervisorSocket.TryConnect(dir);
        if (socket is null)
        {
            return null;
        }
        socket.Send("P"u8);
        var text = new List<byte>(512);
        Span<byte> buf = stackalloc byte[1024];
        int n;
        while ((n = socket.Receive(buf)) > 0)
        {
            text.AddRange(buf[..n]);
        }
        return text.Count == 0 ? null : ContainerStateFile.Parse(CollectionsMarshal.AsSpan(text));
    }

    /// <summary>One request with a one-byte reply.</summary>
    private static int Request(string dir, ReadOnlySpan<byte> request)
    {
        using var socket = SupervisorSocket.TryConnect(dir) ?? throw NotRunning(dir);
        socket.Send(request);
        Span<byte> reply = stackalloc byte[1];
        return socket.Receive(reply) == 1 ? reply[0] : throw NotRunning(dir);
    }

    private static SkiffException NotRunning(string dir) =>
        new(ErrorCategory.Conflict, $"container {Path.GetFileName(dir)} is not running");
}

/// <summary>
/// Connects to DIR/attach.sock through /proc/self/fd/N/attach.sock, N an O_PATH fd of
/// DIR: sun_path holds 108 bytes and container directories can be longer.
/// </summary>
public static partial class SupervisorSocket
{
    private const int O_PATH = 0x200000, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;

    /// <summary>A connected socket, or null when no supervisor listens there.</summary>
    public static Socket? TryConnect(string dir)
    {
        int dirFd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirFd < 0)
        {
            return null;
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint($"/proc/self/fd/{dirFd}/{Supervisor.SocketName}"));
            return socket;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable
                                             or SocketError.AccessDenied || e.NativeErrorCode == Errno.ENOENT)
        {
            // No socket (never started, or gone), or a stale one left by a killed supervisor.
            socket.Dispose();
            return null;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        finally
        {
            Interop.Libc.close(dirFd);
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);
}

/// <summary>A NULL-terminated array of UTF-8 C strings in unmanaged memory, for execve-style calls.</summary>
internal sealed unsafe class NativeStrings : IDisposable
{
    private readonly byte** _array;
    private readonly int _count;

    public NativeStrings(IReadOnlyList<string> strings)
    {
        foreach (var s in strings)
        {
            if (s.Contains('\0'))
            {
                throw SkiffException.Invalid($"a NUL byte is not allowed in an argument: \"{s.Replace("\0", "\\0")}\"");
            }
        }
        _count = strings.Count;
        _array = (byte**)NativeMemory.AllocZeroed((nuint)(_count + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < _count; i++)
        {
            int len = Encoding.UTF8.GetByteCount(strings[i]);
            var s = (byte*)NativeMemory.Alloc((nuint)len + 1);
            Encoding.UTF8.GetBytes(strings[i], new Span<byte>(s, len));
            s[len] = 0;
            _array[i] = s;
        }
    }

    public byte** Array => _array;

    public void Dispose()
    {
        for (int i = 0; i < _count; i++)
        {
            NativeMemory.Free(_array[i]);
            _array[i] = null;
        }
        NativeMemory.Free(_array);
    }
}
