using System.Diagnostics;
using System.Runtime.InteropServices;
using Skiff.Runtime.Supervision;

namespace Skiff.Tests.Supervision;

/// <summary>
/// Runs the supervisor of the shared shim build (libskiff_native.so next to the tests)
/// without the AOT binary: the dynamic loader preloads the library into /bin/true under
/// the name skiff-supervisor, and the library's constructor takes over before main.
/// </summary>
public sealed class SupervisorHarness : IDisposable
{
    public static readonly SupervisorProgram Program = new(
        "/lib64/ld-linux-x86-64.so.2",
        ["ld.so", "--argv0", Interop.Shim.SupervisorArgv0, "--preload", Path.Combine(AppContext.BaseDirectory, "libskiff_native.so"), "/bin/true"]);

    private readonly string _root = Directory.CreateTempSubdirectory("skiff-sup-").FullName;

    public SupervisorHarness() => Dir = Path.Combine(_root, "c1");

    /// <summary>The container directory (made by the test that uses it).</summary>
    public string Dir { get; }

    public string LogFile => Path.Combine(Dir, "c1-json.log");

    public int Spawn(SupervisorOptions options, params string[] worker)
    {
        Directory.CreateDirectory(Dir);
        return Supervisor.Spawn(Dir, options, worker, Program);
    }

    public ContainerState State => ContainerStateFile.Read(Dir) ?? throw new InvalidOperationException("no state.json");

    /// <summary>Waits until the supervisor has written a final state and left.</summary>
    public ContainerState WaitForExit(TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(5)))
        {
            var state = ContainerStateFile.Read(Dir);
            if (state is { Status: "exited" or "created" } && !ProcessLiveness.IsAlive(state.SupervisorPid, state.SupervisorStart))
            {
                return state;
            }
            Thread.Sleep(10);
        }
        throw new TimeoutException($"no final state in {Dir}: {File.ReadAllText(Path.Combine(Dir, "state.json"))}");
    }

    public void Dispose()
    {
        // Whatever a failed test left running goes with its directory.
        if (ContainerStateFile.Read(Dir) is { } state)
        {
            if (ProcessLiveness.IsAlive(state.SupervisorPid, state.SupervisorStart))
            {
                TestLibc.kill(state.SupervisorPid, 9);
            }
            if (ProcessLiveness.IsAlive(state.Pid, state.PidStart))
            {
                TestLibc.kill(state.Pid, 9);
            }
        }
        Directory.Delete(_root, recursive: true);
    }
}

internal static unsafe partial class TestLibc
{
    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, int a, int b, uint c);

    /// <summary>pidfd_getfd(2): a copy of another process's fd (root, or ptrace rights).</summary>
    public static int PidFdGetFd(int pidFd, int targetFd) => (int)syscall(438, pidFd, targetFd, 0);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int posix_openpt(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int grantpt(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int unlockpt(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ptsname_r(int fd, byte* buf, nint len);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    public const int O_RDWR = 2, O_NOCTTY = 0x100, O_CLOEXEC = 0x80000;

    public static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, pipe2(fds, O_CLOEXEC));
        return (fds[0], fds[1]);
    }

    public static (int Rows, int Cols) TtySize(int fd)
    {
        ushort rows, cols;
        Assert.Equal(0, Interop.Shim.TtySize(fd, &rows, &cols));
        return (rows, cols);
    }

    /// <summary>A pty pair: (master, slave).</summary>
    public static (int Master, int Slave) OpenPty()
    {
        int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        Assert.True(master >= 0, "posix_openpt");
        Assert.Equal(0, grantpt(master));
        Assert.Equal(0, unlockpt(master));
        byte* name = stackalloc byte[128];
        Assert.Equal(0, ptsname_r(master, name, 128));
        int slave = open(Marshal.PtrToStringUTF8((nint)name)!, O_RDWR | O_NOCTTY | O_CLOEXEC);
        Assert.True(slave >= 0, "open the pty slave");
        return (master, slave);
    }

    public static void Write(int fd, string text)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        fixed (byte* b = bytes)
        {
            Assert.Equal(0, Interop.Libc.WriteAll(fd, b, bytes.Length));
        }
    }

    public static string Read(int fd)
    {
        byte* buf = stackalloc byte[4096];
        nint n = Interop.Libc.ReadRetry(fd, buf, 4096);
        return n <= 0 ? "" : System.Text.Encoding.UTF8.GetString(buf, (int)n);
    }
}
