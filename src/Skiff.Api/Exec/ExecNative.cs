using System.Runtime.InteropServices;
using System.Text;

namespace Skiff.Api.Exec;

/// <summary>
/// The libc calls an exec child needs that .NET does not offer: posix_spawn with chosen
/// fds as stdio and a session of its own, a pseudo-terminal pair, window sizes, poll.
/// Buffers for the opaque glibc types are generously sized (posix_spawn_file_actions_t is
/// 80 bytes, posix_spawnattr_t 336, sigset_t 128, termios 60 on x86_64 and aarch64).
/// </summary>
internal static unsafe partial class ExecNative
{
    public const int O_RDONLY = 0, O_RDWR = 2, O_NOCTTY = 0x100, O_CLOEXEC = 0x80000;
    public const short POLLIN = 0x1, POLLERR = 0x8, POLLHUP = 0x10;
    private const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;
    private const ulong TIOCSWINSZ = 0x5414;
    private const int TCSANOW = 0;
    private const int EINTR = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_openpt(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int grantpt(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int unlockpt(int fd);

    [LibraryImport("libc")]
    private static partial int ptsname_r(int fd, byte* buf, nuint len);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, ulong request, void* arg);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcgetattr(int fd, byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcsetattr(int fd, int action, byte* termios);

    [LibraryImport("libc")]
    private static partial void cfmakeraw(byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_init(byte* actions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_destroy(byte* actions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_adddup2(byte* actions, int fd, int newFd);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawn_file_actions_addopen(byte* actions, int fd, string path, int flags, uint mode);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_init(byte* attr);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_destroy(byte* attr);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setflags(byte* attr, short flags);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigmask(byte* attr, byte* mask);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigdefault(byte* attr, byte* mask);

    [LibraryImport("libc")]
    private static partial int sigemptyset(byte* set);

    [LibraryImport("libc")]
    private static partial int sigfillset(byte* set);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawn(int* pid, string path, byte* actions, byte* attr, byte** argv, byte** envp);

    /// <summary>A pipe, both ends close-on-exec (the child gets its end by dup2, which clears the flag).</summary>
    public static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
        {
            throw new SystemCallException("pipe2", Marshal.GetLastPInvokeError());
        }
        return (fds[0], fds[1]);
    }

    /// <summary>A new pseudo-terminal: the master fd (close-on-exec, raw, sized) and the slave's path.</summary>
    public static (int Master, string SlavePath) OpenPty(ushort rows, ushort cols)
    {
        int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
        {
            throw new SystemCallException("posix_openpt", Marshal.GetLastPInvokeError());
        }
        try
        {
            if (grantpt(master) < 0 || unlockpt(master) < 0)
            {
                throw new SystemCallException("grantpt/unlockpt", Marshal.GetLastPInvokeError());
            }
            byte* name = stackalloc byte[128];
            int rc = ptsname_r(master, name, 128);
            if (rc != 0)
            {
                throw new SystemCallException("ptsname_r", rc);
            }
            // Raw from the start: the exec'd program's own terminal does the line discipline, not this one.
            byte* termios = stackalloc byte[256];
            if (tcgetattr(master, termios) == 0)
            {
                cfmakeraw(termios);
                tcsetattr(master, TCSANOW, termios);
            }
            if (rows > 0 && cols > 0)
            {
                Resize(master, rows, cols);
            }
            return (master, Marshal.PtrToStringUTF8((nint)name)!);
        }
        catch
        {
            Interop.Libc.close(master);
            throw;
        }
    }

    /// <summary>TIOCSWINSZ: the terminal's size; its foreground process group gets SIGWINCH.</summary>
    public static void Resize(int master, ushort rows, ushort cols)
    {
        ushort* size = stackalloc ushort[4];
        size[0] = rows;
        size[1] = cols;
        size[2] = size[3] = 0;
        ioctl(master, TIOCSWINSZ, size);
    }

    /// <summary>How the child's fds 0, 1 and 2 are made: an fd of ours to dup2, or a path to open.</summary>
    public readonly record struct StdioSource(int Fd, string? Path, int Flags)
    {
        public static StdioSource Of(int fd) => new(fd, null, 0);
        public static StdioSource Open(string path, int flags) => new(-1, path, flags);
    }

    /// <summary>
    /// posix_spawn in a session of its own (so a terminal opened as fd 0 becomes its
    /// controlling terminal), with every signal at its default and none blocked.
    /// </summary>
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env, StdioSource stdin, StdioSource stdout, StdioSource stderr)
    {
        byte* actions = stackalloc byte[256];
        byte* attr = stackalloc byte[1024];
        byte* all = stackalloc byte[256];
        byte* none = stackalloc byte[256];
        posix_spawn_file_actions_init(actions);
        posix_spawnattr_init(attr);
        nint argvBlock = 0, envBlock = 0;
        try
        {
            argvBlock = Strings(argv);
            envBlock = Strings(env);
            sigfillset(all);
            sigemptyset(none);
            posix_spawnattr_setsigdefault(attr, all);
            posix_spawnattr_setsigmask(attr, none);
            posix_spawnattr_setflags(attr, (short)(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID));
            var sources = new[] { stdin, stdout, stderr };
            for (int target = 0; target < 3; target++)
            {
                var s = sources[target];
                int rc = s.Path is not null
                    ? posix_spawn_file_actions_addopen(actions, target, s.Path, s.Flags, 0)
                    : posix_spawn_file_actions_adddup2(actions, s.Fd, target);
                if (rc != 0)
                {
                    throw new SystemCallException("posix_spawn_file_actions", rc);
                }
            }
            int pid;
            int err = posix_spawn(&pid, path, actions, attr, (byte**)argvBlock, (byte**)envBlock);
            if (err != 0)
            {
                throw new SystemCallException($"start {path}", err);
            }
            return pid;
        }
        finally
        {
            posix_spawn_file_actions_destroy(actions);
            posix_spawnattr_destroy(attr);
            if (argvBlock != 0)
            {
                Free(argvBlock, argv.Count);
            }
            if (envBlock != 0)
            {
                Free(envBlock, env.Count);
            }
        }
    }

    /// <summary>Waits for the child (blocking): its exit code, 128+N for a signal N.</summary>
    public static int Wait(int pid)
    {
        int status;
        while (waitpid(pid, &status, 0) < 0)
        {
            int err = Marshal.GetLastPInvokeError();
            if (err != EINTR)
            {
                // ECHILD: someone else reaped it; the code is lost.
                return 255;
            }
        }
        int signal = status & 0x7f;
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
    }

    private static nint Strings(IReadOnlyList<string> strings)
    {
        var array = (byte**)NativeMemory.AllocZeroed((nuint)(strings.Count + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < strings.Count; i++)
        {
            if (strings[i].Contains('\0'))
            {
                Free((nint)array, i);
                throw SkiffException.Invalid($"a NUL byte is not allowed in an exec argument or variable: \"{strings[i].Replace("\0", "\\0")}\"");
            }
            int len = Encoding.UTF8.GetByteCount(strings[i]);
            var s = (byte*)NativeMemory.Alloc((nuint)len + 1);
            Encoding.UTF8.GetBytes(strings[i], new Span<byte>(s, len));
            s[len] = 0;
            array[i] = s;
        }
        return (nint)array;
    }

    private static void Free(nint block, int count)
    {
        var array = (byte**)block;
        for (int i = 0; i < count; i++)
        {
            NativeMemory.Free(array[i]);
        }
        NativeMemory.Free(array);
    }
}
