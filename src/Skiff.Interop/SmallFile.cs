using System.Runtime.InteropServices;

namespace Skiff;

/// <summary>
/// Small files of the start-up paths (state.json, a container's config.json, pid files),
/// written with open(O_CREAT|O_EXCL), write and close. File.WriteAllBytes opens, takes an
/// flock and then ftruncates to zero, and on ext4 a truncate to zero arms "allocate on
/// close": the close then allocates blocks and starts writeback, a disk write per file.
/// Neither the lock nor the truncate is needed for a file that did not exist.
/// </summary>
public static class SmallFile
{
    private const int O_WRONLY = 1, O_CREAT = 0x40, O_EXCL = 0x80, O_TRUNC = 0x200;
    private const int AT_FDCWD = -100;
    private const uint RENAME_EXCHANGE = 2;

    /// <summary>Creates <paramref name="path"/>, which must not exist, with <paramref name="data"/>.</summary>
    public static void WriteNew(string path, ReadOnlySpan<byte> data, uint mode = 0x1A4 /* 0644 */) =>
        Write(path, data, O_EXCL, mode);

    /// <summary>
    /// Creates or overwrites <paramref name="path"/> (O_TRUNC, which the kernel skips for a file
    /// the open created; not atomic for readers: use Replace for a file others read).
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> data, uint mode = 0x1A4 /* 0644 */) =>
        Write(path, data, O_TRUNC, mode);

    private static unsafe void Write(string path, ReadOnlySpan<byte> data, int createFlag, uint mode)
    {
        int fd = Interop.Libc.open(path, O_WRONLY | O_CREAT | createFlag | Interop.Libc.O_CLOEXEC, mode);
        if (fd < 0)
        {
            throw Failure("create", path, Marshal.GetLastPInvokeError());
        }
        int rc;
        fixed (byte* p = data)
        {
            rc = Interop.Libc.WriteAll(fd, p, data.Length);
        }
        int err = -rc;
        Interop.Libc.close(fd);
        if (rc < 0)
        {
            Interop.Libc.unlink(path);
            throw Failure("write", path, err);
        }
    }

    /// <summary>
    /// Replaces <paramref name="path"/> whole: written to PATH.tmp (a stale one from a crash is
    /// removed first) and renamed over, so a reader sees the old bytes or the new. Not fsynced:
    /// for state under /run, which a crash loses with the processes it describes.
    /// </summary>
    public static void Replace(string path, ReadOnlySpan<byte> data)
    {
        string tmp = path + ".tmp";
        Interop.Libc.unlink(tmp);
        WriteNew(tmp, data);
        // Exchanged, not renamed over: ext4 answers a rename over a file by allocating and
        // writing back the new one ("auto_da_alloc"), a disk write per state change. After the
        // exchange the old bytes are at tmp, and go with it, never written to disk if they were new.
        if (Interop.Libc.renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0)
        {
            Interop.Libc.unlink(tmp);
            return;
        }
        if (Interop.Libc.rename(tmp, path) < 0) // no target yet, or a filesystem without RENAME_EXCHANGE
        {
            int err = Marshal.GetLastPInvokeError();
            Interop.Libc.unlink(tmp);
            throw Failure("rename", path, err);
        }
    }

    /// <summary>The exception File.WriteAllBytes would throw, so callers' catch clauses hold.</summary>
    private static Exception Failure(string what, string path, int errno)
    {
        string message = $"{what} {path}: {Marshal.GetPInvokeErrorMessage(errno)}";
        return errno switch
        {
            Errno.ENOENT => new DirectoryNotFoundException(message),
            Errno.EACCES or Errno.EPERM => new UnauthorizedAccessException(message),
            _ => new IOException(message, errno),
        };
    }
}
