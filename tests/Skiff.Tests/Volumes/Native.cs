using System.Runtime.InteropServices;
using System.Text;

namespace Skiff.Tests.Volumes;

/// <summary>What the volume tests make by hand: hard links, overlay whiteouts and opaque markers, owners.</summary>
internal static unsafe partial class Native
{
    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mknod(string path, uint mode, ulong dev);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lsetxattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lstat(string path, byte* buf);

    private static void Check(int rc, string what)
    {
        if (rc < 0)
        {
            throw new IOException($"{what}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public static void Link(string existing, string path) => Check(link(existing, path), $"link {path}");

    /// <summary>An overlay whiteout: a character device 0/0.</summary>
    public static void Whiteout(string path) => Check(mknod(path, 0x2000, 0), $"mknod {path}");

    public static void Chown(string path, uint uid, uint gid) => Check(lchown(path, uid, gid), $"lchown {path}");

    public static void SetXattr(string path, string name, string value)
    {
        byte[] v = Encoding.UTF8.GetBytes(value);
        fixed (byte* p = v)
        {
            Check(lsetxattr(path, name, p, (nuint)v.Length, 0), $"setxattr {name} {path}");
        }
    }

    /// <summary>(uid, gid, inode) without following a final symlink.</summary>
    public static (uint Uid, uint Gid, ulong Inode) Owner(string path)
    {
        byte* b = stackalloc byte[256];
        Check(lstat(path, b), $"lstat {path}");
        return (*(uint*)(b + 28), *(uint*)(b + 32), *(ulong*)(b + 8));
    }
}
