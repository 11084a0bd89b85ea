using System.Runtime.InteropServices;

namespace Skiff.Images;

/// <summary>The libc calls unpacking needs that .NET does not wrap (owners, devices, links, xattrs, times).</summary>
internal static unsafe partial class Native
{
    private const string Lib = "libc";

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int O_DIRECTORY = 0x10000;
    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000;

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lchown(string path, uint uid, uint gid);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mknod(string path, uint mode, ulong dev);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int link(string oldPath, string newPath);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lsetxattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int utimensat(int dirFd, string path, Timespec* times, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fsync(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int syncfs(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    public static int Errno => Marshal.GetLastPInvokeError();

    public static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    /// <summary>fsync a directory so a rename into it survives a crash.</summary>
    public static void SyncDirectory(string dir)
    {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
        {
            fsync(fd);
            close(fd);
        }
    }

    /// <summary>syncfs: one call that makes a whole unpacked tree durable before it is renamed in.</summary>
    public static void SyncFileSystem(string dir)
    {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
        {
            syncfs(fd);
            close(fd);
        }
    }
}

internal static unsafe partial class Native
{
    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000;

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lstat(string path, byte* buf);

    /// <summary>st_mode of a path without following a final symlink; 0 when it does not exist.</summary>
    public static uint LstatMode(string path)
    {
        // struct stat on x86_64 is 144 bytes; st_mode is the 32-bit field at offset 24.
        byte* buf = stackalloc byte[256];
        if (lstat(path, buf) < 0)
        {
            int err = Errno;
            if (err is Skiff.Errno.ENOENT or 20 /* ENOTDIR */)
            {
                return 0;
            }
            throw new SystemCallException($"lstat {path}", err);
        }
        return *(uint*)(buf + 24);
    }
}
