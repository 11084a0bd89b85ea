using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Skiff.Runtime.Supervision;

/// <summary>
/// DIR/state.json as the supervisor (native/supervisor.c) writes it at every transition:
/// Docker's State fields plus the pids and /proc start times that tell a live process from
/// a later one that reuses its pid. Managed code writes it too ("created" at create time).
/// </summary>
public sealed class ContainerState
{
    /// <summary>Go's zero time, which Docker shows for a time that has not happened.</summary>
    public const string ZeroTime = "0001-01-01T00:00:00Z";

    /// <summary>created, running, restarting or exited (paused is the freezer's, not the file's).</summary>
    public string Status { get; set; } = "created";
    /// <summary>The container's pid; 0 when it is not running.</summary>
    public int Pid { get; set; }
    /// <summary>/proc/PID/stat field 22 of <see cref="Pid"/>.</summary>
    public ulong PidStart { get; set; }
    public int SupervisorPid { get; set; }
    public ulong SupervisorStart { get; set; }
    /// <summary>The exit code, 128 + signal, or 125-127 for a launch that failed.</summary>
    public int ExitCode { get; set; }
    public string StartedAt { get; set; } = ZeroTime;
    public string FinishedAt { get; set; } = ZeroTime;
    public int RestartCount { get; set; }
    public bool OOMKilled { get; set; }
    public string Error { get; set; } = "";

    /// <summary>running or restarting: a supervisor is (or was, if it died) in charge.</summary>
    [JsonIgnore]
    public bool Active => Status is "running" or "restarting";

    /// <summary>Running as Docker counts it: running, paused or restarting.</summary>
    [JsonIgnore]
    public bool Running => Status is "running" or "paused" or "restarting";

    public static ContainerState Created() => new();

    public static string Now() => FormatTime(DateTime.UtcNow);

    /// <summary>RFC 3339 with nine fraction digits, UTC, as the supervisor writes times.</summary>
    public static string FormatTime(DateTime time)
    {
        var utc = time.ToUniversalTime();
        // DateTime holds 100 ns ticks: seven digits, then two zeros.
        return utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture) + "00Z";
    }

    /// <summary>A time from the file, or null for the zero time (or text that is no time).</summary>
    public static DateTime? ParseTime(string text)
    {
        if (text.Length == 0 || text == ZeroTime)
        {
            return null;
        }
        // .NET reads at most seven fraction digits: cut the nanoseconds to 100 ns ticks.
        int dot = text.IndexOf('.');
        if (dot > 0 && text.EndsWith('Z'))
        {
            string fraction = text[(dot + 1)..^1];
            if (fraction.Length > 7)
            {
                text = string.Concat(text.AsSpan(0, dot + 1), fraction.AsSpan(0, 7), "Z");
            }
        }
        return DateTime.TryParse(text, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : null;
    }
}

[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(ContainerState))]
internal sealed partial class SupervisionJson : JsonSerializerContext;

/// <summary>
/// Reads and writes DIR/state.json: tmp + fsync + rename under an exclusive flock on
/// DIR/lock, the lock the supervisor takes for its own short writes.
/// </summary>
public static class ContainerStateFile
{
    public const string FileName = "state.json";
    public const string LockName = "lock";

    /// <summary>The file's state, or null when there is none yet.</summary>
    public static ContainerState? Read(string dir)
    {
        string path = Path.Combine(dir, FileName);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize(bytes, SupervisionJson.Default.ContainerState)
                ?? throw SkiffException.Internal($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw SkiffException.Internal($"{path}: {e.Message}");
        }
    }

    /// <summary>The file's bytes, for a caller that writes it itself (the foreground run, without fsync).</summary>
    /// <summary>
    /// The bytes SupervisionJson writes, by hand: the foreground `run` writes state.json on its
    /// hot path and never reads it, and a contract's first use costs more than the write.
    /// </summary>
    public static byte[] ToJson(ContainerState state) => JsonBytes.Write(state, static (w, s) =>
    {
        w.WriteStartObject();
        w.WriteString("Status", s.Status);
        w.WriteNumber("Pid", s.Pid);
        w.WriteNumber("PidStart", s.PidStart);
        w.WriteNumber("SupervisorPid", s.SupervisorPid);
        w.WriteNumber("SupervisorStart", s.SupervisorStart);
        w.WriteNumber("ExitCode", s.ExitCode);
        w.WriteString("StartedAt", s.StartedAt);
        w.WriteString("FinishedAt", s.FinishedAt);
        w.WriteNumber("RestartCount", s.RestartCount);
        w.WriteBoolean("OOMKilled", s.OOMKilled);
        w.WriteString("Error", s.Error);
        w.WriteEndObject();
    });

    /// <summary>Parses the text the supervisor sends for a 'P' request (the file's own format).</summary>
    public static ContainerState Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, SupervisionJson.Default.ContainerState)
                ?? throw SkiffException.Internal("supervisor state: empty");
        }
        catch (JsonException e)
        {
            throw SkiffException.Internal($"supervisor state: {e.Message}");
        }
    }

    public static void Write(string dir, ContainerState state)
    {
        using var _ = DirectoryLock.Acquire(dir);
        WriteLocked(dir, state);
    }

    /// <summary>For a caller that already holds <see cref="DirectoryLock"/> (a read-modify-write).</summary>
    public static void WriteLocked(string dir, ContainerState state)
    {
        string path = Path.Combine(dir, FileName);
        string tmp = path + ".tmp";
        byte[] bytes = ToJson(state);
        try
        {
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1))
            {
                f.Write(bytes);
                f.WriteByte((byte)'\n');
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>
    /// The state as it really is: a file that says running or restarting while its
    /// supervisor is dead (killed, or the machine went down) is stale. Then the container
    /// is either still running unsupervised (its pid and start time match a live process)
    /// or gone with an exit status nobody saw: Docker's 255 in that case.
    /// </summary>
    public static ContainerState? Observe(string dir)
    {
        var state = Read(dir);
        if (state is null || !state.Active || ProcessLiveness.IsAlive(state.SupervisorPid, state.SupervisorStart))
        {
            return state;
        }
        if (ProcessLiveness.IsAlive(state.Pid, state.PidStart))
        {
            state.Error = $"the supervisor (pid {state.SupervisorPid}) is gone; the container runs unsupervised";
            return state;
        }
        state.Status = "exited";
        state.ExitCode = 255;
        state.Pid = 0;
        state.PidStart = 0;
        state.Error = $"the supervisor (pid {state.SupervisorPid}) died; the container's exit status is unknown";
        return state;
    }
}

/// <summary>/proc/PID/stat start times: a pid alone may have been reused by a later process.</summary>
public static class ProcessLiveness
{
    public static unsafe bool IsAlive(int pid, ulong start)
    {
        if (pid <= 0)
        {
            return false;
        }
        ulong now;
        return Interop.Shim.ProcessStartTime(pid, &now) >= 0 && now == start && !IsZombie(pid);
    }

    /// <summary>A zombie has exited; only its parent has not looked yet.</summary>
    private static bool IsZombie(int pid) => Oci.ProcessInfo.Read(pid) is { Gone: true };
}

/// <summary>
/// The exclusive flock on DIR/lock. Opened with open(2), not a FileStream, whose own
/// non-blocking shared flock would fail while the supervisor holds the lock.
/// </summary>
public sealed partial class DirectoryLock : IDisposable
{
    private const int O_RDWR = 2, O_CREAT = 0x40, O_CLOEXEC = 0x80000;
    private int _fd;

    private DirectoryLock(int fd) => _fd = fd;

    public static DirectoryLock Acquire(string dir)
    {
        string path = Path.Combine(dir, ContainerStateFile.LockName);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0x180 /* 0600 */);
        if (fd < 0)
        {
            int err = Marshal.GetLastPInvokeError();
            throw new SystemCallException($"open {path}", err, SystemCallException.CategoryOf(err));
        }
        while (Interop.Libc.flock(fd, Interop.Libc.LOCK_EX) < 0)
        {
            int err = Marshal.GetLastPInvokeError();
            if (err != Errno.EINTR)
            {
                Interop.Libc.close(fd);
                throw new SystemCallException($"lock {path}", err);
            }
        }
        return new DirectoryLock(fd);
    }

    public void Dispose()
    {
        if (_fd >= 0)
        {
            Interop.Libc.close(_fd); // closing drops the flock
            _fd = -1;
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags, uint mode);
}
