using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace Skiff;

/// <summary>
/// Small kernel files (/proc, /sys) read with one open and a few reads into a pooled buffer:
/// File.ReadAllText builds a FileStream, a StreamReader and their buffers for every call,
/// which the runtime's start-up paths (the process and cgroup checks of every verb) pay for.
/// Their size is unknown (stat says 0), so the read goes on to end of file.
/// </summary>
public static class ProcFile
{
    /// <summary>The file's text, or null when it cannot be opened or read (a process that is gone).</summary>
    public static string? TryReadAllText(string path) => Read(path, out _);

    /// <summary>The file's text; a missing file throws FileNotFoundException, other failures IOException.</summary>
    public static string ReadAllText(string path)
    {
        string? text = Read(path, out int errno);
        if (text is not null)
        {
            return text;
        }
        string message = $"{path}: {Marshal.GetPInvokeErrorMessage(errno)}";
        throw errno == Errno.ENOENT ? new FileNotFoundException(message, path) : new IOException(message);
    }

    private static unsafe string? Read(string path, out int errno)
    {
        errno = 0;
        int fd = Interop.Libc.open(path, Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            int length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    byte[] bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                nint n;
                fixed (byte* p = &buffer[length])
                {
                    n = Interop.Libc.read(fd, p, buffer.Length - length);
                }
                if (n < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }
                    return null;
                }
                if (n == 0)
                {
                    return Encoding.UTF8.GetString(buffer, 0, length);
                }
                length += (int)n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interop.Libc.close(fd);
        }
    }
}
