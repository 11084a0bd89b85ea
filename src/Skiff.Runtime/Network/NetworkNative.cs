using System.Runtime.InteropServices;

namespace Skiff.Runtime.Network;

/// <summary>The libc calls starting a network helper needs that .NET and Interop.Libc do not wrap.</summary>
internal static unsafe partial class NetworkNative
{
    private const string Lib = "libc";

    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000;
    public const int O_ASYNC = 0x2000;
    public const int F_DUPFD_CLOEXEC = 1030;
    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int F_SETOWN = 8;
    public const int F_SETSIG = 10;
    public const int MFD_CLOEXEC = 1;
    public const short POLLIN = 1;
    public const short POSIX_SPAWN_SETSIGDEF = 0x04;
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;
    public const short POSIX_SPAWN_SETSID = 0x80;
    public const int SIGTERM = 15;
    public const int SIGKILL = 9;
    public const int WNOHANG = 1;

    // glibc's opaque types, with room to spare: posix_spawn_file_actions_t is 80 bytes,
    // posix_spawnattr_t 336 and sigset_t 128 on x86_64.
    public const int FileActionsSize = 128;
    public const int SpawnAttrSize = 512;
    public const int SigSetSize = 128;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint pread(int fd, byte* buf, nint count, long offset);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeoutMs);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport(Lib)]
    public static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport(Lib)]
    public static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport(Lib)]
    public static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_init(void* attr);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_setsigmask(void* attr, void* sigset);

    [LibraryImport(Lib)]
    public static partial int posix_spawnattr_setsigdefault(void* attr, void* sigset);

    [LibraryImport(Lib)]
    public static partial int sigemptyset(void* set);

    [LibraryImport(Lib)]
    public static partial int sigfillset(void* set);

    /// <summary>Returns 0 or an errno (posix_spawn does not use errno).</summary>
    [LibraryImport(Lib)]
    public static partial int posix_spawn(int* pid, byte* path, void* actions, void* attr, byte** argv, byte** envp);

    public static int LastError => Marshal.GetLastPInvokeError();
}
