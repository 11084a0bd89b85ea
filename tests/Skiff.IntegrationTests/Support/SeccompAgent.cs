using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Skiff.IntegrationTests.Support;

/// <summary>
/// A seccomp agent at a linux.seccomp.listenerPath, as a user writes one: a unix socket
/// server that takes the container process state with the listener fd (SCM_RIGHTS), then
/// answers the notified syscalls (SECCOMP_IOCTL_NOTIF_RECV / _SEND): each with the next
/// answer given, an errno or 0 for a success that did nothing; once they run out, with
/// "continue" (the kernel runs the call).
/// </summary>
public sealed partial class SeccompAgent : IDisposable
{
    private readonly Socket _server;
    private readonly Thread _acceptor;
    private readonly ConcurrentQueue<int> _answers;
    private volatile bool _stopping;

    /// <param name="path">The socket; made connectable by anyone (the rootless runtime connects as its user).</param>
    public SeccompAgent(string path, params int[] answers)
    {
        Path = path;
        _answers = new ConcurrentQueue<int>(answers);
        _server = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _server.Bind(new UnixDomainSocketEndPoint(path));
        File.SetUnixFileMode(path, (UnixFileMode)0b110_110_110);
        _server.Listen(4);
        _acceptor = new Thread(Accept) { IsBackground = true, Name = "seccomp agent" };
        _acceptor.Start();
    }

    public string Path { get; }

    /// <summary>Every container process state received, one per connection.</summary>
    public ConcurrentQueue<JsonElement> States { get; } = new();

    /// <summary>The syscall numbers notified, in order.</summary>
    public ConcurrentQueue<int> Notified { get; } = new();

    /// <summary>What went wrong on the agent's side (a test asserts it is empty).</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>Waits (5 s at most) until <paramref name="count"/> states have come.</summary>
    public async Task WaitForStatesAsync(int count)
    {
        for (int i = 0; i < 100 && States.Count < count; i++)
        {
            await Task.Delay(50);
        }
    }

    private void Accept()
    {
        while (!_stopping)
        {
            Socket connection;
            try
            {
                connection = _server.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            new Thread(() => Serve(connection)) { IsBackground = true, Name = "seccomp listener" }.Start();
        }
    }

    private void Serve(Socket connection)
    {
        int listener = -1;
        try
        {
            using (connection)
            {
                listener = Receive((int)connection.SafeHandle.DangerousGetHandle(), out string json);
                using var doc = JsonDocument.Parse(json);
                States.Enqueue(doc.RootElement.Clone());
            }
            if (listener < 0)
            {
                Errors.Enqueue("no fd came with the container process state");
                return;
            }
            Answer(listener);
        }
        catch (Exception e)
        {
            Errors.Enqueue(e.ToString());
        }
        finally
        {
            if (listener >= 0)
            {
                Native.Close(listener);
            }
        }
    }

    /// <summary>Reads the connection to its end; the fd comes with the first part.</summary>
    private static unsafe int Receive(int socket, out string json)
    {
        int fd = -1;
        var text = new MemoryStream();
        byte* data = stackalloc byte[4096];
        byte* control = stackalloc byte[64];
        while (true)
        {
            var iov = new Native.IoVec { Base = data, Length = 4096 };
            var msg = new Native.MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 64 };
            nint n = Native.RecvMsg(socket, &msg, 0x40000000 /* MSG_CMSG_CLOEXEC */);
            if (n < 0)
            {
                throw new InvalidOperationException($"recvmsg: errno {Marshal.GetLastPInvokeError()}");
            }
            if (n == 0)
            {
                break;
            }
            // struct cmsghdr: size_t len, int level, int type, then the fds
            if (msg.ControlLength >= 20 && *(int*)(control + 8) == 1 /* SOL_SOCKET */ && *(int*)(control + 12) == 1 /* SCM_RIGHTS */)
            {
                if (fd >= 0)
                {
                    throw new InvalidOperationException("a second fd came with a later part of the state");
                }
                fd = *(int*)(control + 16);
            }
            text.Write(new ReadOnlySpan<byte>(data, (int)n));
        }
        json = Encoding.UTF8.GetString(text.ToArray());
        return fd;
    }

    private const ulong NotifRecv = 0xc0502100, NotifSend = 0xc0182101;
    private const uint FlagContinue = 1;

    private unsafe void Answer(int listener)
    {
        byte* notif = stackalloc byte[80];   // struct seccomp_notif
        byte* resp = stackalloc byte[24];    // struct seccomp_notif_resp
        while (!_stopping)
        {
            var pfd = new Native.PollFd { Fd = listener, Events = 1 /* POLLIN */ };
            int ready = Native.Poll(&pfd, 1, 100);
            if (ready <= 0)
            {
                continue;
            }
            if ((pfd.Revents & 1) == 0)
            {
                return; // POLLHUP: every process under the filter is gone
            }
            new Span<byte>(notif, 80).Clear(); // the kernel refuses a buffer that is not zeroed
            if (Native.Ioctl(listener, (nuint)NotifRecv, notif) < 0)
            {
                continue; // ENOENT: the caller died before we took it
            }
            ulong id = *(ulong*)notif;
            Notified.Enqueue(*(int*)(notif + 16)); // data.nr
            new Span<byte>(resp, 24).Clear();
            *(ulong*)resp = id;
            if (_answers.TryDequeue(out int errno))
            {
                *(int*)(resp + 16) = -errno; // 0: success, val 0
            }
            else
            {
                *(uint*)(resp + 20) = FlagContinue;
            }
            // ENOENT here too: the caller was killed while we decided
            Native.Ioctl(listener, (nuint)NotifSend, resp);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _server.Dispose();
        File.Delete(Path);
    }

    private static unsafe partial class Native
    {
        [StructLayout(LayoutKind.Sequential)]
        public struct IoVec
        {
            public byte* Base;
            public nuint Length;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct MsgHdr
        {
            public void* Name;
            public uint NameLength;
            public IoVec* Iov;
            public nuint IovLength;
            public byte* Control;
            public nuint ControlLength;
            public int Flags;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct PollFd
        {
            public int Fd;
            public short Events;
            public short Revents;
        }

        [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
        public static partial nint RecvMsg(int socket, MsgHdr* msg, int flags);

        [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
        public static partial int Ioctl(int fd, nuint request, void* arg);

        [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
        public static partial int Poll(PollFd* fds, nuint count, int timeout);

        [LibraryImport("libc", EntryPoint = "close")]
        public static partial int Close(int fd);
    }
}
