using System.Runtime.InteropServices;

namespace Skiff.Engine.Volumes;

/// <summary>What lstat(2) says of a path, the fields a faithful copy needs.</summary>
public readonly record struct FileStat(ulong Device, ulong Inode, ulong Links, uint Mode, uint Uid, uint Gid, ulong RDevice, long Size, long MtimeSeconds, long MtimeNanoseconds)
{
    public uint Type => Mode & VolumeNative.S_IFMT;
    public bool IsDirectory => Type == VolumeNative.S_IFDIR;
    public bool IsSymlink => Type == VolumeNative.S_IFLNK;
    /// <summary>An overlay whiteout: a character device 0/0.</summary>
    public bool IsWhiteout => Type == VolumeNative.S_IFCHR && RDevice == 0;
}

/// <summary>The libc calls copy-up and volume bookkeeping need that .NET does not wrap.</summary>
internal static unsafe partial class VolumeNative
{
    private const string Lib = "libc";

    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000;
    private const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100;
    private const int O_RDONLY = 0, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;
    private const int ENOENT = 2, ENOTDIR = 20, ERANGE = 34;

    [LibraryImport(Lib, EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lstat(string path, byte* buf);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, uint uid, uint gid);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int fchmodat(int dirFd, string path, uint mode, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int utimensat(int dirFd, string path, long* times, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mknod(string path, uint mode, ulong dev);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string oldPath, string newPath);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint llistxattr(string path, byte* list, nuint size);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint lgetxattr(string path, string name, byte* value, nuint size);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lsetxattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    private static partial int close(int fd);

    private static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>lstat, or null when the path (or a directory on the way) is not there.</summary>
    public static FileStat? Lstat(string path)
    {
        // struct stat on x86_64: dev 0, ino 8, nlink 16, mode 24, uid 28, gid 32, rdev 40, size 48, mtim 88.
        byte* b = stackalloc byte[256];
        if (lstat(path, b) < 0)
        {
            int err = Errno;
            if (err is ENOENT or ENOTDIR)
            {
                return null;
            }
            throw new SystemCallException($"lstat {path}", err);
        }
        return new FileStat(*(ulong*)b, *(ulong*)(b + 8), *(ulong*)(b + 16), *(uint*)(b + 24), *(uint*)(b + 28), *(uint*)(b + 32),
            *(ulong*)(b + 40), *(long*)(b + 48), *(long*)(b + 88), *(long*)(b + 96));
    }

    /// <summary>lchown; false when the id is not mapped here (a rootless copy without the keeper).</summary>
    public static bool Chown(string path, uint uid, uint gid) => lchown(path, uid, gid) == 0;

    public static void Chmod(string path, uint mode)
    {
        if (fchmodat(AT_FDCWD, path, mode & 0xFFF, 0) < 0)
        {
            throw new SystemCallException($"chmod {path}", Errno);
        }
    }

    /// <summary>Best effort, as cp -a: a time the filesystem cannot hold is no reason to fail.</summary>
    public static void SetMtime(string path, long seconds, long nanoseconds)
    {
        long* t = stackalloc long[4];
        t[0] = seconds;
        t[1] = nanoseconds;
        t[2] = seconds;
        t[3] = nanoseconds;
        utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW);
    }

    /// <summary>mknod; false when not permitted (device nodes in a user namespace).</summary>
    public static bool MakeNode(string path, uint mode, ulong dev)
    {
        if (mknod(path, mode, dev) == 0)
        {
            return true;
        }
        int err = Errno;
        return err == 1 /* EPERM */ ? false : throw new SystemCallException($"mknod {path}", err);
    }

    public static void HardLink(string existing, string path)
    {
        if (link(existing, path) < 0)
        {
            throw new SystemCallException($"link {path} to {existing}", Errno);
        }
    }

    /// <summary>The names of a path's extended attributes (empty where the filesystem has none).</summary>
    public static List<string> ListXattrs(string path)
    {
        var names = new List<string>();
        nint size = llistxattr(path, null, 0);
        if (size <= 0)
        {
            return names;
        }
        var buf = new byte[size];
        fixed (byte* p = buf)
        {
            size = llistxattr(path, p, (nuint)buf.Length);
        }
        int start = 0;
        for (int i = 0; i < size; i++)
        {
            if (buf[i] == 0)
            {
                if (i > start)
                {
                    names.Add(System.Text.Encoding.UTF8.GetString(buf, start, i - start));
                }
                start = i + 1;
            }
        }
        return names;
    }

    public static byte[]? GetXattr(string path, string name)
    {
        var buf = new byte[256];
        for (int attempt = 0; attempt < 4; attempt++)
        {
            nint n;
            fixed (byte* p = buf)
            {
                n = lgetxattr(path, name, p, (nuint)buf.Length);
            }
            if (n >= 0)
            {
                return buf[..(int)n];
            }
            int err = Errno;
            if (err != ERANGE)
            {
                return null;
            }
            buf = new byte[buf.Length * 16];
        }
        return null;
    }

    /// <summary>Best effort: a filesystem or namespace that refuses an attribute does not stop a copy.</summary>
    public static void SetXattr(string path, string name, byte[] value)
    {
        fixed (byte* p = value)
        {
            lsetxattr(path, name, p, (nuint)value.Length, 0);
        }
    }

    public static bool HasXattr(string path, string name) => GetXattr(path, name) is { } v && v.Length > 0 && v[0] == (byte)'y';

    public static void SyncDirectory(string dir)
    {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
        {
            fsync(fd);
            close(fd);
        }
    }
}
