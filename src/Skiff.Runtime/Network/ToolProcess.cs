using System.Collections;
using System.Runtime.InteropServices;
using System.Text;

namespace Skiff.Runtime.Network;

/// <summary>
/// A network helper started with posix_spawn: chosen fds placed at fixed numbers (every
/// other fd of ours is close-on-exec), stdin on /dev/null, stdout and stderr into a memfd
/// that is read only when the helper fails, default signal handling and an empty mask
/// whatever skiff holds (skiff run holds SIGINT/SIGTERM while it waits).
/// </summary>
internal sealed unsafe class ToolProcess : IDisposable
{
    private int _output;

    private ToolProcess(int pid, int output)
    {
        Pid = pid;
        _output = output;
    }

    public int Pid { get; private set; }

    /// <param name="fds">(our fd, its number in the helper): each is dup2'd there, without close-on-exec.</param>
    /// <param name="newSession">setsid, so a ^C at skiff's terminal does not reach the helper.</param>
    public static ToolProcess Start(string path, IReadOnlyList<string> argv, IReadOnlyList<(int Fd, int Target)> fds, bool newSession)
    {
        int output = NetworkNative.memfd_create("skiff-network-tool", NetworkNative.MFD_CLOEXEC);
        if (output < 0)
        {
            throw new SystemCallException("memfd_create for the network helper's output", NetworkNative.LastError);
        }
        // Park every source above the targets first, so no dup2 overwrites a source still to come.
        var parked = new int[fds.Count];
        Array.Fill(parked, -1);
        int devNull = -1;
        byte* actions = stackalloc byte[NetworkNative.FileActionsSize];
        byte* attr = stackalloc byte[NetworkNative.SpawnAttrSize];
        byte* none = stackalloc byte[NetworkNative.SigSetSize];
        byte* all = stackalloc byte[NetworkNative.SigSetSize];
        var strings = new NativeStrings();
        NetworkNative.posix_spawn_file_actions_init(actions);
        NetworkNative.posix_spawnattr_init(attr);
        try
        {
            for (int i = 0; i < fds.Count; i++)
            {
                parked[i] = NetworkNative.fcntl(fds[i].Fd, NetworkNative.F_DUPFD_CLOEXEC, 64);
                if (parked[i] < 0)
                {
                    throw new SystemCallException("duplicate a descriptor for the network helper", NetworkNative.LastError);
                }
            }
            devNull = NetworkNative.open("/dev/null", NetworkNative.O_RDONLY | NetworkNative.O_CLOEXEC);
            if (devNull < 0)
            {
                throw new SystemCallException("open /dev/null", NetworkNative.LastError);
            }
            NetworkNative.posix_spawn_file_actions_adddup2(actions, devNull, 0);
            NetworkNative.posix_spawn_file_actions_adddup2(actions, output, 1);
            NetworkNative.posix_spawn_file_actions_adddup2(actions, output, 2);
            for (int i = 0; i < fds.Count; i++)
            {
                NetworkNative.posix_spawn_file_actions_adddup2(actions, parked[i], fds[i].Target);
            }
            NetworkNative.sigemptyset(none);
            NetworkNative.sigfillset(all);
            NetworkNative.posix_spawnattr_setsigmask(attr, none);
            NetworkNative.posix_spawnattr_setsigdefault(attr, all);
            short flags = (short)(NetworkNative.POSIX_SPAWN_SETSIGDEF | NetworkNative.POSIX_SPAWN_SETSIGMASK
                | (newSession ? NetworkNative.POSIX_SPAWN_SETSID : 0));
            NetworkNative.posix_spawnattr_setflags(attr, flags);

            int pid;
            int rc = NetworkNative.posix_spawn(&pid, strings.Add(path), actions, attr, strings.Array(argv), strings.Array(CurrentEnvironment()));
            if (rc != 0)
            {
                throw new SystemCallException($"start {path}", rc, rc == Errno.ENOENT ? ErrorCategory.NotFound : ErrorCategory.Internal);
            }
            var started = new ToolProcess(pid, output);
            output = -1;
            return started;
        }
        finally
        {
            NetworkNative.posix_spawn_file_actions_destroy(actions);
            NetworkNative.posix_spawnattr_destroy(attr);
            strings.Dispose();
            foreach (int fd in parked)
            {
                Interop.Libc.close(fd);
            }
            Interop.Libc.close(devNull);
            Interop.Libc.close(output);
        }
    }

    /// <summary>The exit status of a child someone else reaped (a SIGCHLD handler that reaps every child).</summary>
    public const int Unknown = -2;

    /// <summary>Waits for the helper to exit (it is our child); its exit code, 128+signal, -1 after the timeout, or Unknown.</summary>
    public int WaitExit(int timeoutMs)
    {
        if (Pid <= 0)
        {
            return -1;
        }
        int pidFd = Interop.Libc.pidfd_open(Pid, 0);
        try
        {
            if (pidFd >= 0 && !Readable(pidFd, timeoutMs))
            {
                return -1;
            }
            int status;
            while (NetworkNative.waitpid(Pid, &status, 0) < 0)
            {
                int err = NetworkNative.LastError;
                if (err == Errno.ECHILD)
                {
                    Pid = 0;
                    return Unknown;
                }
                if (err != Errno.EINTR)
                {
                    throw new SystemCallException($"wait for network helper {Pid}", err);
                }
            }
            Pid = 0;
            return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
        }
        finally
        {
            Interop.Libc.close(pidFd);
        }
    }

    /// <summary>Kills and reaps the helper if it is still our child and running.</summary>
    public void Kill()
    {
        if (Pid > 0)
        {
            Interop.Libc.kill(Pid, NetworkNative.SIGKILL);
            int status;
            while (NetworkNative.waitpid(Pid, &status, 0) < 0 && NetworkNative.LastError == Errno.EINTR)
            {
            }
            Pid = 0;
        }
    }

    /// <summary>What the helper printed so far, without the log lines that only say syslog is missing.</summary>
    public string Output()
    {
        if (_output < 0)
        {
            return "";
        }
        var bytes = new List<byte>();
        byte* buf = stackalloc byte[4096];
        long offset = 0;
        while (offset < 64 * 1024)
        {
            nint n = NetworkNative.pread(_output, buf, 4096, offset);
            if (n <= 0)
            {
                break;
            }
            bytes.AddRange(new ReadOnlySpan<byte>(buf, (int)n));
            offset += n;
        }
        var lines = Encoding.UTF8.GetString(bytes.ToArray()).Split('\n')
            .Select(l => l.TrimEnd())
            .Where(l => l.Length > 0 && !l.StartsWith("Failed to send ", StringComparison.Ordinal) && !l.Contains("syslog", StringComparison.Ordinal));
        return string.Join('\n', lines);
    }

    public void Dispose()
    {
        Interop.Libc.close(_output);
        _output = -1;
    }

    /// <summary>poll(2) for POLLIN (a pidfd: the process exited; a pipe: data or EOF), EINTR retried.</summary>
    public static bool Readable(int fd, int timeoutMs)
    {
        var p = new NetworkNative.PollFd { Fd = fd, Events = NetworkNative.POLLIN };
        long deadline = System.Environment.TickCount64 + timeoutMs;
        while (true)
        {
            int rc = NetworkNative.poll(&p, 1, timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - System.Environment.TickCount64));
            if (rc >= 0)
            {
                return rc > 0;
            }
            int err = NetworkNative.LastError;
            if (err != Errno.EINTR)
            {
                throw new SystemCallException("poll", err);
            }
        }
    }

    private static List<string> CurrentEnvironment()
    {
        var env = new List<string>();
        foreach (DictionaryEntry e in System.Environment.GetEnvironmentVariables())
        {
            env.Add($"{e.Key}={e.Value}");
        }
        return env;
    }

    /// <summary>NUL-terminated UTF-8 strings and argv-style arrays, freed together.</summary>
    private sealed class NativeStrings : IDisposable
    {
        private readonly List<nint> _blocks = [];

        public byte* Add(string s)
        {
            int n = Encoding.UTF8.GetByteCount(s);
            byte* p = (byte*)NativeMemory.Alloc((nuint)n + 1);
            _blocks.Add((nint)p);
            Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
            p[n] = 0;
            return p;
        }

        public byte** Array(IReadOnlyList<string> items)
        {
            byte** a = (byte**)NativeMemory.Alloc((nuint)(items.Count + 1), (nuint)sizeof(byte*));
            _blocks.Add((nint)a);
            for (int i = 0; i < items.Count; i++)
            {
                a[i] = Add(items[i]);
            }
            a[items.Count] = null;
            return a;
        }

        public void Dispose()
        {
            foreach (nint p in _blocks)
            {
                NativeMemory.Free((void*)p);
            }
            _blocks.Clear();
        }
    }
}
