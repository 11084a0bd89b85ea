using System.Runtime.InteropServices;
using System.Text;

namespace Skiff.Engine.Containers;

/// <summary>
/// The *at() calls cp needs: every path is a name relative to a directory fd, so what a
/// container holds (a symlink, a swapped directory) can never point cp at the host.
/// </summary>
internal static unsafe partial class CopyNative
{
    private const string Lib = "libc";

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_REMOVEDIR = 0x200;
    public const int AT_EMPTY_PATH = 0x1000;

    public const int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_EXCL = 0x80, O_TRUNC = 0x200, O_NONBLOCK = 0x800;
    public const int O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000;

    public const ulong RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_IN_ROOT = 0x10;

    public const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFLNK = 0xA000, S_IFREG = 0x8000, S_IFBLK = 0x6000,
        S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long syscall_openat2(long number, int dirFd, string path, OpenHow* how, nuint size);

    /// <summary>openat2(2) (glibc 2.36 has no wrapper); EINTR and EAGAIN (a racing rename) retried. fd or -errno.</summary>
    public static int OpenAt2(int dirFd, string path, int flags, ulong resolve, uint mode = 0)
    {
        var how = new OpenHow { Flags = (ulong)(flags | O_CLOEXEC), Mode = mode, Resolve = resolve };
        for (int attempt = 0; ; attempt++)
        {
            long fd = syscall_openat2(437, dirFd, path, &how, (nuint)sizeof(OpenHow));
            if (fd >= 0)
            {
                return (int)fd;
            }
            int err = Marshal.GetLastPInvokeError();
            if (err != Errno.EINTR && !(err == Errno.EAGAIN && attempt < 100))
            {
                return -err;
            }
        }
    }

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int openat(int dirFd, string path, int flags, uint mode);

    /// <summary>openat(2) of one name; fd or -errno.</summary>
    public static int OpenAt(int dirFd, string name, int flags, uint mode = 0)
    {
        while (true)
        {
            int fd = openat(dirFd, name, flags | O_CLOEXEC, mode);
            if (fd >= 0)
            {
                return fd;
            }
            int err = Marshal.GetLastPInvokeError();
            if (err != Errno.EINTR)
            {
                return -err;
            }
        }
    }

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    public static void Close(int fd)
    {
        if (fd >= 0)
        {
            close(fd);
        }
    }

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int fstatat(int dirFd, string path, byte* buf, int flags);

    /// <summary>fstatat; with name "" and AT_EMPTY_PATH, the fd itself. 0 or -errno.</summary>
    public static int StatAt(int dirFd, string name, int flags, out FileStat stat)
    {
        // struct stat on x86_64 is 144 bytes.
        byte* buf = stackalloc byte[256];
        stat = default;
        if (fstatat(dirFd, name, buf, flags) < 0)
        {
            return -Marshal.GetLastPInvokeError();
        }
        stat = FileStat.From(buf);
        return 0;
    }

    public static FileStat StatFd(int fd, string what)
    {
        int rc = StatAt(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, out var st);
        if (rc < 0)
        {
            throw new SystemCallException($"stat {what}", -rc);
        }
        return st;
    }

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint readlinkat(int dirFd, string path, byte* buf, nint size);

    /// <summary>The text of a symlink; with name "", the O_PATH fd of the link itself.</summary>
    public static string ReadLinkAt(int dirFd, string name, string what)
    {
        byte* buf = stackalloc byte[4096];
        nint n = readlinkat(dirFd, name, buf, 4096);
        if (n < 0)
        {
            throw new SystemCallException($"readlink {what}", Marshal.GetLastPInvokeError());
        }
        return Encoding.UTF8.GetString(buf, (int)n);
    }

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkdirat(int dirFd, string name, uint mode);

    public static int MkdirAt(int dirFd, string name, uint mode) => mkdirat(dirFd, name, mode) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int symlinkat(string target, int dirFd, string name);

    public static int SymlinkAt(string target, int dirFd, string name) => symlinkat(target, dirFd, name) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int linkat(int oldDirFd, string oldName, int newDirFd, string newName, int flags);

    public static int LinkAt(int oldDirFd, string oldName, int newDirFd, string newName) =>
        linkat(oldDirFd, oldName, newDirFd, newName, 0) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mknodat(int dirFd, string name, uint mode, ulong dev);

    public static int MknodAt(int dirFd, string name, uint mode, ulong dev) => mknodat(dirFd, name, mode, dev) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int unlinkat(int dirFd, string name, int flags);

    public static int UnlinkAt(int dirFd, string name, int flags) => unlinkat(dirFd, name, flags) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int fchownat(int dirFd, string name, uint uid, uint gid, int flags);

    public static int ChownAt(int dirFd, string name, uint uid, uint gid) =>
        fchownat(dirFd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    [LibraryImport(Lib, SetLastError = true)]
    private static partial int fchmod(int fd, uint mode);

    public static int Chmod(int fd, uint mode) => fchmod(fd, mode) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chmod(string path, uint mode);

    /// <summary>chmod(2) of a path; cp only gives it /proc/self/fd/N of an O_PATH fd.</summary>
    public static int ChmodPath(string path, uint mode) => chmod(path, mode) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int utimensat(int dirFd, string name, Timespec* times, int flags);

    /// <summary>atime and mtime of a name, not following a final symlink.</summary>
    public static int SetTimesAt(int dirFd, string name, DateTimeOffset atime, DateTimeOffset mtime)
    {
        var t = stackalloc Timespec[2];
        t[0] = ToTimespec(atime);
        t[1] = ToTimespec(mtime);
        return utimensat(dirFd, name, t, AT_SYMLINK_NOFOLLOW) < 0 ? -Marshal.GetLastPInvokeError() : 0;
    }

    private static Timespec ToTimespec(DateTimeOffset t)
    {
        long ticks = t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rest);
        if (rest < 0)
        {
            seconds--;
            rest += TimeSpan.TicksPerSecond;
        }
        return new Timespec { Seconds = seconds, Nanoseconds = rest * 100 };
    }

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint fgetxattr(int fd, string name, byte* value, nint size);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int fsetxattr(int fd, string name, byte* value, nint size, int flags);

    /// <summary>An xattr of an open file, or null when it has none (or the filesystem has none).</summary>
    public static byte[]? GetXattr(int fd, string name)
    {
        byte* buf = stackalloc byte[1024];
        nint n = fgetxattr(fd, name, buf, 1024);
        return n < 0 ? null : new ReadOnlySpan<byte>(buf, (int)n).ToArray();
    }

    public static int SetXattr(int fd, string name, byte[] value)
    {
        fixed (byte* v = value)
        {
            return fsetxattr(fd, name, v, value.Length, 0) < 0 ? -Marshal.GetLastPInvokeError() : 0;
        }
    }

    [LibraryImport(Lib, SetLastError = true)]
    private static partial int fstatfs(int fd, byte* buf);

    /// <summary>f_type of the filesystem an fd is on (statfs(2)); 0 when unknown.</summary>
    public static long FilesystemType(int fd)
    {
        // struct statfs on x86_64 is 120 bytes; f_type is the first field.
        byte* buf = stackalloc byte[256];
        return fstatfs(fd, buf) < 0 ? 0 : *(long*)buf;
    }

    /// <summary>
    /// The kernel's own filesystems (proc, sysfs, devpts, mqueue, cgroup, ...): what a
    /// running container has mounted there is not its files, and docker cp does not see them.
    /// </summary>
    public static bool IsPseudoFilesystem(long type) => type switch
    {
        0x9fa0 or 0x62656572 or 0x1cd1 or 0x19800202 or 0x27e0eb or 0x63677270 or 0x64626720 or 0x73636673
            or 0xcafe4a11 or 0x74726163 or 0x6e736673 or 0x42494e4d => true,
        _ => false,
    };

    [LibraryImport(Lib, SetLastError = true)]
    private static partial nint fdopendir(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    private static partial nint readdir(nint dir);

    [LibraryImport(Lib, SetLastError = true)]
    private static partial int closedir(nint dir);

    /// <summary>The names in a directory fd (without . and ..), sorted as Go's Walk sorts them.</summary>
    public static List<string> ReadNames(int dirFd, string what)
    {
        // fdopendir takes ownership of the fd it is given: give it a copy.
        int copy = OpenAt(dirFd, ".", O_RDONLY | O_DIRECTORY);
        if (copy < 0)
        {
            throw new SystemCallException($"open {what}", -copy);
        }
        nint dir = fdopendir(copy);
        if (dir == 0)
        {
            int err = Marshal.GetLastPInvokeError();
            close(copy);
            throw new SystemCallException($"opendir {what}", err);
        }
        var names = new List<string>();
        try
        {
            while (true)
            {
                Marshal.SetLastPInvokeError(0);
                nint entry = readdir(dir);
                if (entry == 0)
                {
                    int err = Marshal.GetLastPInvokeError();
                    if (err != 0)
                    {
                        throw new SystemCallException($"readdir {what}", err);
                    }
                    break;
                }
                // struct dirent: d_ino 8, d_off 8, d_reclen 2, d_type 1, then d_name.
                string? name = Marshal.PtrToStringUTF8(entry + 19);
                if (name is null or "." or "..")
                {
                    continue;
                }
                names.Add(name);
            }
        }
        finally
        {
            closedir(dir);
        }
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    public static uint Major(ulong dev) => (uint)(((dev >> 32) & 0xfffff000) | ((dev >> 8) & 0xfff));

    public static uint Minor(ulong dev) => (uint)(((dev >> 12) & 0xffffff00) | (dev & 0xff));
}

/// <summary>What cp needs of struct stat.</summary>
internal readonly record struct FileStat(ulong Dev, ulong Ino, ulong NLink, uint Mode, uint Uid, uint Gid, ulong RDev, long Size,
    DateTimeOffset ATime, DateTimeOffset MTime)
{
    public uint Type => Mode & CopyNative.S_IFMT;
    public bool IsDir => Type == CopyNative.S_IFDIR;
    public bool IsSymlink => Type == CopyNative.S_IFLNK;
    public bool IsRegular => Type == CopyNative.S_IFREG;
    /// <summary>Permission and set-id/sticky bits.</summary>
    public uint Permissions => Mode & 0xFFF;

    public static unsafe FileStat From(byte* b) => new(
        Dev: *(ulong*)b, Ino: *(ulong*)(b + 8), NLink: *(ulong*)(b + 16), Mode: *(uint*)(b + 24),
        Uid: *(uint*)(b + 28), Gid: *(uint*)(b + 32), RDev: *(ulong*)(b + 40), Size: *(long*)(b + 48),
        ATime: Time(*(long*)(b + 72), *(long*)(b + 80)), MTime: Time(*(long*)(b + 88), *(long*)(b + 96)));

    private static DateTimeOffset Time(long seconds, long nanoseconds)
    {
        try
        {
            return DateTimeOffset.UnixEpoch.AddTicks(seconds * TimeSpan.TicksPerSecond + nanoseconds / 100);
        }
        catch (ArgumentOutOfRangeException)
        {
            return DateTimeOffset.UnixEpoch;
        }
    }

    /// <summary>Go's os.FileMode bits, as Docker's container path stat carries them.</summary>
    public uint GoMode()
    {
        uint m = Mode & 0x1FF;
        m |= Type switch
        {
            CopyNative.S_IFDIR => 1u << 31,
            CopyNative.S_IFLNK => 1u << 27,
            CopyNative.S_IFBLK => 1u << 26,
            CopyNative.S_IFCHR => (1u << 26) | (1u << 21),
            CopyNative.S_IFIFO => 1u << 25,
            CopyNative.S_IFSOCK => 1u << 24,
            _ => 0,
        };
        if ((Mode & 0x800) != 0)
        {
            m |= 1u << 23;
        }
        if ((Mode & 0x400) != 0)
        {
            m |= 1u << 22;
        }
        if ((Mode & 0x200) != 0)
        {
            m |= 1u << 20;
        }
        return m;
    }
}
