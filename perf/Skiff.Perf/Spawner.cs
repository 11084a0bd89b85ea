using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Skiff.Perf;

/// <summary>One finished child: wall time from spawn to reap, and what wait4 said about it.</summary>
internal readonly record struct RunSample(double WallMs, double UserMs, double SysMs, long MaxRssKiB, int WaitStatus, bool TimedOut)
{
    public bool Succeeded => WaitStatus == 0 && !TimedOut;

    public string Outcome => TimedOut ? "timed out, killed"
        : (WaitStatus & 0x7f) == 0 ? $"exit {(WaitStatus >> 8) & 0xff}"
        : $"killed by signal {WaitStatus & 0x7f}";
}

/// <summary>A command turned into NUL-terminated native strings once, so a measured spawn allocates nothing.</summary>
internal sealed unsafe class NativeCommand : IDisposable
{
    private readonly List<nint> _blocks = [];

    public NativeCommand(string path, IReadOnlyList<string> args)
    {
        Path = path;
        Args = args;
        PathPtr = Utf8(path, _blocks);
        ArgvPtr = StringArray([path, .. args], _blocks);
    }

    public string Path { get; }
    public IReadOnlyList<string> Args { get; }
    public byte* PathPtr { get; }
    public byte** ArgvPtr { get; }

    /// <summary>The harness's own environment, passed to every child unchanged; lives as long as the process.</summary>
    public static byte** Environment { get; } = StringArray(EnvironmentStrings(), []);

    public override string ToString() => string.Join(' ', [Path, .. Args]);

    private static byte* Utf8(string s, List<nint> owner)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[n] = 0;
        owner.Add((nint)p);
        return p;
    }

    private static byte** StringArray(IReadOnlyList<string> items, List<nint> owner)
    {
        var array = (byte**)NativeMemory.Alloc((nuint)(items.Count + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < items.Count; i++)
            array[i] = Utf8(items[i], owner);
        array[items.Count] = null;
        owner.Add((nint)array);
        return array;
    }

    private static string[] EnvironmentStrings()
    {
        var list = new List<string>();
        foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
            list.Add($"{e.Key}={e.Value}");
        return [.. list];
    }

    public void Dispose()
    {
        foreach (var p in _blocks)
            NativeMemory.Free((void*)p);
        _blocks.Clear();
    }
}

/// <summary>
/// Starts children with posix_spawn and reaps them with wait4, because only wait4 hands back the
/// child's own rusage (CPU, max RSS); System.Diagnostics.Process cannot.
/// stdin and stdout go to /dev/null; stderr goes to a memfd so a failing run can be shown.
/// ru_maxrss of these children is not theirs (see rss-probe.c), so max RSS comes from <see cref="Probe"/>.
/// Each child leads its own process group, so a watchdog can kill a hung run and what it started.
/// </summary>
internal sealed unsafe class Spawner : IDisposable
{
    private readonly SafeFileHandle _devNull;
    private readonly SafeFileHandle _stdout;
    private readonly SafeFileHandle _stderr;
    private readonly void* _measureActions;
    private readonly void* _captureActions;
    private readonly void* _probeActions;
    private readonly void* _attr;
    private readonly byte[] _readBuffer = new byte[64 * 1024];

    // Watchdog state: the child being waited for, while it is still unreaped (so its pid and
    // process group cannot have been reused), and when it started.
    private readonly Lock _gate = new();
    private readonly long _timeoutTicks;
    private readonly Thread _watchdog;
    private int _runningPid;
    private long _runStart;
    private bool _timedOut;
    private volatile bool _disposed;

    public Spawner(TimeSpan timeout)
    {
        _timeoutTicks = (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        // A thread polling a few times a second, rather than a timer re-armed per run, so that
        // nothing is signalled between spawn and reap.
        _watchdog = new Thread(Watch) { IsBackground = true, Name = "spawn watchdog" };
        _watchdog.Start();

        _devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite);
        _stdout = Interop.MemfdCreate("skiff-perf-stdout\0"u8);
        _stderr = Interop.MemfdCreate("skiff-perf-stderr\0"u8);
        int devNull = Fd(_devNull), stdout = Fd(_stdout), stderr = Fd(_stderr);

        _measureActions = Interop.NewFileActions([(devNull, 0), (devNull, 1), (stderr, 2)]);
        _captureActions = Interop.NewFileActions([(devNull, 0), (stdout, 1), (stderr, 2)]);
        _probeActions = Interop.NewFileActions([(devNull, 0), (devNull, 1), (stderr, 2), (stdout, 3)]);
        _attr = Interop.NewSpawnAttr();
    }

    /// <summary>Runs a child for measurement: output discarded except stderr, which <see cref="LastStderr"/> reads.</summary>
    public RunSample Run(NativeCommand command)
    {
        // Reset the stderr sink outside the timed region, so every run pays the same (a dup2 of fd 2).
        Interop.Rewind(_stderr);
        return SpawnAndReap(command, _measureActions);
    }

    /// <summary>Runs a child to read its output (versions, applet lists); not timed for the report.</summary>
    public (RunSample Sample, string Stdout, string Stderr) Capture(NativeCommand command)
    {
        Interop.Rewind(_stdout);
        Interop.Rewind(_stderr);
        var sample = SpawnAndReap(command, _captureActions);
        return (sample, ReadAll(_stdout), ReadAll(_stderr));
    }

    /// <summary>Runs `rss-probe COMMAND`, which reports the command's own ru_maxrss on fd 3; not timed.</summary>
    public (RunSample Sample, long? MaxRssKiB) Probe(NativeCommand probeCommand)
    {
        Interop.Rewind(_stdout);
        Interop.Rewind(_stderr);
        var sample = SpawnAndReap(probeCommand, _probeActions);
        return (sample, long.TryParse(ReadAll(_stdout).Trim(), out long kib) ? kib : null);
    }

    public (RunSample Sample, string Stdout, string Stderr) Capture(string path, params string[] args)
    {
        using var command = new NativeCommand(path, args);
        return Capture(command);
    }

    public string LastStderr() => ReadAll(_stderr);

    private RunSample SpawnAndReap(NativeCommand command, void* fileActions)
    {
        int pid, status;
        bool timedOut;
        Interop.RUsage usage;

        long start = Stopwatch.GetTimestamp();
        // posix_spawn returns the error number itself instead of setting errno.
        int error = Interop.PosixSpawn(&pid, command.PathPtr, fileActions, _attr, command.ArgvPtr, NativeCommand.Environment);
        if (error != 0)
            throw new IOException($"posix_spawn {command.Path}: {Marshal.GetPInvokeErrorMessage(error)}");
        lock (_gate)
            (_runningPid, _runStart, _timedOut) = (pid, start, false);
        // Wait for the exit without reaping, disarm the watchdog, then reap with wait4 for the rusage.
        Interop.WaitExited(pid);
        lock (_gate)
            (_runningPid, timedOut) = (0, _timedOut);
        Interop.Wait4(pid, &status, &usage);
        long end = Stopwatch.GetTimestamp();

        return new RunSample(
            WallMs: (end - start) * 1000.0 / Stopwatch.Frequency,
            UserMs: usage.UserTime.Milliseconds,
            SysMs: usage.SystemTime.Milliseconds,
            MaxRssKiB: usage.MaxRssKiB,
            WaitStatus: status,
            TimedOut: timedOut);
    }

    private void Watch()
    {
        while (!_disposed)
        {
            Thread.Sleep(250);
            lock (_gate)
            {
                if (_runningPid == 0 || Stopwatch.GetTimestamp() - _runStart < _timeoutTicks)
                    continue;
                Interop.Kill(-_runningPid, Interop.SIGKILL);
                Interop.Kill(_runningPid, Interop.SIGKILL);
                (_runningPid, _timedOut) = (0, true);
            }
        }
    }

    private string ReadAll(SafeFileHandle handle)
    {
        int n = RandomAccess.Read(handle, _readBuffer, fileOffset: 0);
        return Encoding.UTF8.GetString(_readBuffer, 0, n);
    }

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    public void Dispose()
    {
        _disposed = true;
        Interop.FreeFileActions(_measureActions);
        Interop.FreeFileActions(_captureActions);
        Interop.FreeFileActions(_probeActions);
        Interop.FreeSpawnAttr(_attr);
        _devNull.Dispose();
        _stdout.Dispose();
        _stderr.Dispose();
    }
}

/// <summary>libc imports for the spawner; blittable signatures, errno read straight after the call.</summary>
internal static unsafe partial class Interop
{
    internal const int SIGKILL = 9;
    internal const int SIGTERM = 15;
    private const short POSIX_SPAWN_SETPGROUP = 0x02;
    private const short POSIX_SPAWN_SETSIGDEF = 0x04;
    private const short POSIX_SPAWN_SETSIGMASK = 0x08;
    private const int EINTR = 4;
    private const uint MFD_CLOEXEC = 1;
    private const int P_PID = 1;
    private const int WEXITED = 4;
    private const int WNOWAIT = 0x01000000;
    private const int SigInfoBytes = 128;

    // glibc's posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336, sigset_t 128;
    // allocating more is harmless and keeps a different libc layout from overrunning.
    private const int OpaqueBytes = 1024;

    [StructLayout(LayoutKind.Sequential)]
    internal struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
        public readonly double Milliseconds => Seconds * 1000.0 + Microseconds / 1000.0;
    }

    /// <summary>struct rusage on 64-bit Linux: two timevals, then 14 longs of which we read ru_maxrss (KiB).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct RUsage
    {
        public TimeVal UserTime;
        public TimeVal SystemTime;
        public long MaxRssKiB;
        private fixed long _rest[13];
    }

    [LibraryImport("libc", EntryPoint = "posix_spawn")]
    internal static partial int PosixSpawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    private static partial int FileActionsInit(void* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    private static partial int FileActionsAddDup2(void* actions, int fd, int newFd);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addclosefrom_np")]
    private static partial int FileActionsAddCloseFrom(void* actions, int from);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    private static partial int FileActionsDestroy(void* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_init")]
    private static partial int SpawnAttrInit(void* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    private static partial int SpawnAttrSetFlags(void* attr, short flags);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigmask")]
    private static partial int SpawnAttrSetSigMask(void* attr, void* sigset);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigdefault")]
    private static partial int SpawnAttrSetSigDefault(void* attr, void* sigset);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    private static partial int SpawnAttrDestroy(void* attr);

    [LibraryImport("libc", EntryPoint = "sigemptyset")]
    private static partial int SigEmptySet(void* set);

    [LibraryImport("libc", EntryPoint = "sigfillset")]
    private static partial int SigFillSet(void* set);

    [LibraryImport("libc", EntryPoint = "wait4", SetLastError = true)]
    private static partial int Wait4Raw(int pid, int* status, int options, RUsage* usage);

    [LibraryImport("libc", EntryPoint = "waitid", SetLastError = true)]
    private static partial int WaitId(int idType, int id, void* info, int options);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setpgroup")]
    private static partial int SpawnAttrSetPGroup(void* attr, int pgroup);

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true)]
    private static partial int MemfdCreateRaw(byte* name, uint flags);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int FTruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long LSeek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    internal static partial uint GetEUid();

    internal static void Wait4(int pid, int* status, RUsage* usage)
    {
        while (Wait4Raw(pid, status, 0, usage) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
                throw new IOException($"wait4 {pid}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    /// <summary>Blocks until the child has exited but leaves it a zombie, so its pid stays ours.</summary>
    internal static void WaitExited(int pid)
    {
        byte* info = stackalloc byte[SigInfoBytes];
        while (WaitId(P_PID, pid, info, WEXITED | WNOWAIT) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
                throw new IOException($"waitid {pid}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    internal static SafeFileHandle MemfdCreate(ReadOnlySpan<byte> nameZ)
    {
        int fd;
        fixed (byte* name = nameZ)
            fd = MemfdCreateRaw(name, MFD_CLOEXEC);
        if (fd < 0)
            throw new IOException($"memfd_create: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Empties a sink and moves its shared offset back to 0 (the child writes through the same open file).</summary>
    internal static void Rewind(SafeFileHandle handle)
    {
        int fd = (int)handle.DangerousGetHandle();
        if (FTruncate(fd, 0) < 0 || LSeek(fd, 0, 0) < 0)
            throw new IOException($"rewind fd {fd}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    internal static void* NewFileActions(ReadOnlySpan<(int From, int To)> dups)
    {
        void* actions = NativeMemory.AllocZeroed(OpaqueBytes);
        Check(FileActionsInit(actions), "posix_spawn_file_actions_init");
        foreach (var (from, to) in dups)
            Check(FileActionsAddDup2(actions, from, to), "posix_spawn_file_actions_adddup2");
        // Whatever the harness inherited without close-on-exec (a CI runner's pipes) stays out of the child.
        int firstUnused = 0;
        foreach (var (_, to) in dups)
            firstUnused = Math.Max(firstUnused, to + 1);
        Check(FileActionsAddCloseFrom(actions, firstUnused), "posix_spawn_file_actions_addclosefrom_np");
        return actions;
    }

    /// <summary>
    /// The .NET runtime ignores SIGPIPE and may block signals on this thread; a child must not inherit
    /// either (the same reason pal_process.c resets them), so every signal goes back to default, none masked.
    /// </summary>
    internal static void* NewSpawnAttr()
    {
        void* attr = NativeMemory.AllocZeroed(OpaqueBytes);
        void* all = NativeMemory.AllocZeroed(OpaqueBytes);
        void* none = NativeMemory.AllocZeroed(OpaqueBytes);
        try
        {
            Check(SpawnAttrInit(attr), "posix_spawnattr_init");
            SigFillSet(all);
            SigEmptySet(none);
            Check(SpawnAttrSetSigDefault(attr, all), "posix_spawnattr_setsigdefault");
            Check(SpawnAttrSetSigMask(attr, none), "posix_spawnattr_setsigmask");
            Check(SpawnAttrSetPGroup(attr, 0), "posix_spawnattr_setpgroup");
            Check(SpawnAttrSetFlags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK), "posix_spawnattr_setflags");
            return attr;
        }
        finally
        {
            NativeMemory.Free(all);
            NativeMemory.Free(none);
        }
    }

    internal static void FreeFileActions(void* actions)
    {
        FileActionsDestroy(actions);
        NativeMemory.Free(actions);
    }

    internal static void FreeSpawnAttr(void* attr)
    {
        SpawnAttrDestroy(attr);
        NativeMemory.Free(attr);
    }

    private static void Check(int error, string operation)
    {
        if (error != 0)
            throw new IOException($"{operation}: {Marshal.GetPInvokeErrorMessage(error)}");
    }
}
