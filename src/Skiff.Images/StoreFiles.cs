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

/// <summary>An exclusive flock on the store: held around every change to shared structures.</summary>
public sealed class StoreLock : IDisposable
{
    private readonly FileStream _file;

    private StoreLock(FileStream file) => _file = file;

    public static StoreLock Acquire(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var f = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        // FileStream takes an advisory lock of its own (per open file); flock is what other skiffs see.
        while (Native.flock((int)f.SafeFileHandle.DangerousGetHandle(), 2 /* LOCK_EX */) < 0)
        {
            int err = Native.Errno;
            if (err != Errno.EINTR)
            {
                f.Dispose();
                throw new SystemCallException($"lock {path}", err);
            }
        }
        return new StoreLock(f);
    }

    public void Dispose() => _file.Dispose();
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
