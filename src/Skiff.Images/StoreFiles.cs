using System.Text.Json.Serialization.Metadata;

namespace Skiff.Images;

/// <summary>Metadata files written so that a reader sees the old or the new, never half: tmp, fsync, rename.</summary>
public static class AtomicFile
{
    public static void Write(string path, ReadOnlySpan<byte> data)
    {
        string tmp = $"{path}.tmp-{Environment.ProcessId}";
        try
        {
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1))
            {
                f.Write(data);
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
        Native.SyncDirectory(Path.GetDirectoryName(path)!);
    }

    public static void WriteJson<T>(string path, T value, JsonTypeInfo<T> type) =>
        Write(path, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, type));
}

/// <summary>
/// An exclusive flock on the store: held around every change to shared structures. The
/// file is opened with open(2), not a FileStream: a FileStream takes a non-blocking shared
/// flock of its own on open, which fails (instead of waiting) while another holder has the
/// exclusive lock, be it another skiff process or another request of `skiff serve`.
/// </summary>
public sealed class StoreLock : IDisposable
{
    private const int O_RDONLY = 0, O_CLOEXEC = 0x80000;
    private int _fd;

    private StoreLock(int fd) => _fd = fd;

    public static StoreLock Acquire(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        int fd = Native.open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && Native.Errno == Errno.ENOENT)
        {
            try
            {
                using (new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite))
                {
                }
            }
            catch (IOException)
            {
                // Made and locked by another holder in the meantime: it exists, which is all this wanted.
            }
            fd = Native.open(path, O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0)
        {
            throw new SystemCallException($"open {path}", Native.Errno);
        }
        while (Native.flock(fd, 2 /* LOCK_EX */) < 0)
        {
            int err = Native.Errno;
            if (err != Errno.EINTR)
            {
                Native.close(fd);
                throw new SystemCallException($"lock {path}", err);
            }
        }
        return new StoreLock(fd);
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            Native.close(fd);
        }
    }
}

/// <summary>Names of temporary files and directories that say which process made them, so leftovers of a killed one can be told apart.</summary>
public static class TempNames
{
    public static string New(string prefix)
    {
        Span<byte> b = stackalloc byte[6];
        Interop.Libc.GetRandom(b);
        return $"{prefix}{Environment.ProcessId}-{Convert.ToHexStringLower(b)}";
    }

    /// <summary>The pid a temporary name was made by, or -1.</summary>
    public static int OwnerOf(string name, string prefix)
    {
        if (!name.StartsWith(prefix, StringComparison.Ordinal))
        {
            return -1;
        }
        int dash = name.IndexOf('-', prefix.Length);
        return dash > prefix.Length && int.TryParse(name.AsSpan(prefix.Length, dash - prefix.Length), out int pid) ? pid : -1;
    }

    public static bool IsStale(string name, string prefix)
    {
        int pid = OwnerOf(name, prefix);
        return pid > 0 && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}");
    }
}
