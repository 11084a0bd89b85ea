using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Skiff.Engine.Containers;

public enum LogStream : byte
{
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
}

/// <summary>
/// One json-file record. Time is UTC to the tick; Nanoseconds keeps the second's fraction
/// as written, so Timestamp reproduces it to the nanosecond.
/// </summary>
public readonly record struct LogEntry(LogStream Stream, DateTime Time, int Nanoseconds, byte[] Line, string Attrs)
{
    /// <summary>Docker's RFC3339NanoFixed, as `logs -t` and the API's timestamps=1 print it.</summary>
    public string Timestamp =>
        Time.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + "." +
        Nanoseconds.ToString("D9", CultureInfo.InvariantCulture) + "Z";
}

/// <summary>What `logs` and GET /containers/{id}/logs ask for.</summary>
public sealed class LogReadOptions
{
    public bool Follow { get; init; }
    /// <summary>The last N records (counted over both streams, as Docker does); negative for all.</summary>
    public int Tail { get; init; } = -1;
    public DateTime? Since { get; init; }
    public DateTime? Until { get; init; }
    public bool Stdout { get; init; } = true;
    public bool Stderr { get; init; } = true;
    /// <summary>How often a follower looks for more (and at the container's state).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);
    /// <summary>Called when a follower has caught up and is about to wait: the moment to flush output.</summary>
    public Action? OnIdle { get; init; }

    /// <summary>Docker's tail parameter: a count, or anything else ("all") for everything.</summary>
    public static int ParseTail(string? tail) =>
        int.TryParse(tail, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n) && n >= 0 ? n : -1;
}

/// <summary>
/// Reads a container's json-file log (DIR/ID-json.log and its rotations ID-json.log.1, .2,
/// …, .1 the newest), oldest record first. Following, it reads on as the file grows,
/// moves to the new file when the supervisor rotates, and ends once the container has
/// stopped and everything written is read.
/// </summary>
public static partial class LogReader
{
    public static string LogPath(ContainerStore store, string id) => Path.Combine(store.Dir(id).Path, id + "-json.log");

    /// <summary>
    /// The records, read as they are enumerated. A container that is not there or a log
    /// driver that cannot be read fails here, at once: before an API answer has begun.
    /// </summary>
    public static IAsyncEnumerable<LogEntry> Open(ContainerStore store, string id, LogReadOptions options)
    {
        var def = store.Load(id);
        if (def.HostConfig.LogConfig.Type is not ("" or "json-file"))
        {
            throw SkiffException.Invalid("configured logging driver does not support reading");
        }
        return ReadAsync(store, id, options);
    }

    private static async IAsyncEnumerable<LogEntry> ReadAsync(ContainerStore store, string id, LogReadOptions options,
        [EnumeratorCancellation] CancellationToken cancel = default)
    {
        string path = LogPath(store, id);
        bool follow = options.Follow && store.State(id).Running;
        var sources = OpenAll(path, options.Tail);
        LineSource? current = null;
        var catchUp = new List<LineSource>();
        try
        {
            // Everything already written, the rotated files first.
            for (int i = 0; i < sources.Count; i++)
            {
                foreach (var e in Drain(sources[i], options))
                {
                    if (e is not { } entry)
                    {
                        yield break;
                    }
                    yield return entry;
                }
                if (i < sources.Count - 1 || !follow)
                {
                    sources[i].Dispose();
                }
            }
            if (!follow)
            {
                yield break;
            }
            current = sources.Count > 0 && sources[^1].Path == path ? sources[^1] : null;
            DateTime? stoppedAt = null;
            bool drainedBeforeSwitch = false;
            while (true)
            {
                if (current is not null)
                {
                    foreach (var e in Drain(current, options))
                    {
                        if (e is not { } entry)
                        {
                            yield break;
                        }
                        yield return entry;
                    }
                }
                // Caught up with this file. Truncated in place (max-file 1): from its start again.
                if (current is not null && current.Truncated)
                {
                    current.Seek(0);
                    continue;
                }
                // A rotation renamed it: the rest is in a new one.
                var now = Inode(path);
                if (now != 0 && now != current?.Inode)
                {
                    if (current is not null && !drainedBeforeSwitch)
                    {
                        // Once more over the old file: a line may have landed just before the rename.
                        drainedBeforeSwitch = true;
                        continue;
                    }
                    drainedBeforeSwitch = false;
                    // Several rotations may have passed between two looks: the files newer
                    // than ours (ours is now .N, or gone) are read whole before the new one.
                    OpenNewer(path, current?.Inode ?? 0, catchUp);
                    current?.Dispose();
                    current = null;
                    try
                    {
                        current = LineSource.Open(path, 0);
                    }
                    catch (IOException)
                    {
                        // Rotated again meanwhile, or the container removed: looked at again below.
                    }
                    while (catchUp.Count > 0)
                    {
                        foreach (var e in Drain(catchUp[0], options))
                        {
                            if (e is not { } entry)
                            {
                                yield break;
                            }
                            yield return entry;
                        }
                        catchUp[0].Dispose();
                        catchUp.RemoveAt(0);
                    }
                    if (current is not null)
                    {
                        continue;
                    }
                }
                if (stoppedAt is { } t)
                {
                    if (!SupervisorAlive(store, id) || DateTime.UtcNow - t > TimeSpan.FromSeconds(2))
                    {
                        // Stopped and drained (the supervisor writes the last lines before it goes).
                        yield break;
                    }
                }
                else if (!StillRunning(store, id))
                {
                    stoppedAt = DateTime.UtcNow;
                    continue;
                }
                if (options.Until is { } until && DateTime.UtcNow > until)
                {
                    yield break;
                }
                options.OnIdle?.Invoke();
                await Task.Delay(options.PollInterval, cancel).ConfigureAwait(false);
            }
        }
        finally
        {
            current?.Dispose();
            foreach (var s in catchUp)
            {
                s.Dispose();
            }
            foreach (var s in sources)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>PATH.1, PATH.2, … up to the file with inode `ours` (or the last one): opened, oldest first, into `into`.</summary>
    private static void OpenNewer(string path, ulong ours, List<LineSource> into)
    {
        for (int n = 1; ours != 0; n++)
        {
            LineSource rotated;
            try
            {
                rotated = LineSource.Open($"{path}.{n}", 0);
            }
            catch (IOException)
            {
                return;
            }
            if (rotated.Inode == ours)
            {
                rotated.Dispose();
                return;
            }
            into.Insert(0, rotated);
        }
    }

    private static bool StillRunning(ContainerStore store, string id)
    {
        try
        {
            return store.State(id).Running;
        }
        catch (SkiffException e) when (e.Category == ErrorCategory.NotFound)
        {
            return false;
        }
    }

    private static bool SupervisorAlive(ContainerStore store, string id)
    {
        try
        {
            var s = StateFile.Read(store.Dir(id).Path);
            return ContainerStore.ProcessAlive(s.SupervisorPid, s.SupervisorStart);
        }
        catch (SkiffException)
        {
            return false;
        }
    }

    /// <summary>The complete lines the file holds now, as records that pass the filters; a null once one is past --until.</summary>
    private static IEnumerable<LogEntry?> Drain(LineSource source, LogReadOptions options)
    {
        while (source.TryReadLine(out var line))
        {
            switch (Filter(line, options, out var entry))
            {
                case Verdict.Stop:
                    yield return null;
                    yield break;
                case Verdict.Emit:
                    yield return entry;
                    break;
            }
        }
    }

    private enum Verdict
    {
        Skip,
        Emit,
        Stop,
    }

    private static Verdict Filter(ReadOnlyMemory<byte> line, LogReadOptions options, out LogEntry entry)
    {
        if (!TryParse(line.Span, out entry))
        {
            return Verdict.Skip;
        }
        if (options.Until is { } until && entry.Time > until)
        {
            return Verdict.Stop;
        }
        if (options.Since is { } since && entry.Time < since)
        {
            return Verdict.Skip;
        }
        return entry.Stream switch
        {
            LogStream.Stdout when !options.Stdout => Verdict.Skip,
            LogStream.Stderr when !options.Stderr => Verdict.Skip,
            _ => Verdict.Emit,
        };
    }

    /// <summary>The files that hold the wanted records, oldest first, each positioned at its first wanted line.</summary>
    private static List<LineSource> OpenAll(string path, int tail)
    {
        var files = new List<string>();
        for (int n = 1; File.Exists($"{path}.{n}"); n++)
        {
            files.Insert(0, $"{path}.{n}");
        }
        if (File.Exists(path))
        {
            files.Add(path);
        }
        var sources = new List<LineSource>();
        try
        {
            foreach (var f in files)
            {
                try
                {
                    sources.Add(LineSource.Open(f, 0));
                }
                catch (IOException)
                {
                    // Rotated away between the listing and the open.
                }
            }
            if (tail >= 0)
            {
                int need = tail;
                int first = sources.Count;
                for (int i = sources.Count - 1; i >= 0; i--)
                {
                    long offset = sources[i].StartOfLastLines(ref need);
                    first = i;
                    if (offset >= 0)
                    {
                        sources[i].Seek(offset);
                        break;
                    }
                    sources[i].Seek(0);
                }
                if (tail == 0 && sources.Count > 0)
                {
                    first = sources.Count - 1;
                    sources[first].Seek(sources[first].Length);
                }
                for (int i = 0; i < first; i++)
                {
                    sources[i].Dispose();
                }
                sources.RemoveRange(0, first);
            }
            return sources;
        }
        catch
        {
            foreach (var s in sources)
            {
                s.Dispose();
            }
            throw;
        }
    }

    /// <summary>{"log":"hi\n","stream":"stdout","time":"2026-11-28T08:00:00.123456789Z"} (and "attrs" with --log-opt labels).</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out LogEntry entry)
    {
        entry = default;
        string? log = null, stream = null, time = null, attrs = "";
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("log"u8))
                {
                    reader.Read();
                    log = reader.GetString();
                }
                else if (reader.ValueTextEquals("stream"u8))
                {
                    reader.Read();
                    stream = reader.GetString();
                }
                else if (reader.ValueTextEquals("time"u8))
                {
                    reader.Read();
                    time = reader.GetString();
                }
                else if (reader.ValueTextEquals("attrs"u8))
                {
                    reader.Read();
                    attrs = ReadAttrs(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }
        if (log is null || time is null || !TryParseTime(time, out var t, out int nanos))
        {
            return false;
        }
        var s = stream switch
        {
            "stderr" => LogStream.Stderr,
            "stdin" => LogStream.Stdin,
            _ => LogStream.Stdout,
        };
        entry = new LogEntry(s, t, nanos, Encoding.UTF8.GetBytes(log), attrs);
        return true;
    }

    /// <summary>Docker's --details prefix: k=v pairs, sorted, query-escaped, comma-separated.</summary>
    private static string ReadAttrs(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return "";
        }
        var pairs = new List<string>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string k = reader.GetString()!;
            reader.Read();
            string v = reader.TokenType == JsonTokenType.String ? reader.GetString()! : "";
            pairs.Add(QueryEscape(k) + "=" + QueryEscape(v));
        }
        pairs.Sort(StringComparer.Ordinal);
        return string.Join(',', pairs);
    }

    /// <summary>Go's url.QueryEscape: unreserved bytes as they are, a space as '+', the rest %XX.</summary>
    private static string QueryEscape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(s))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
            {
                sb.Append((char)b);
            }
            else if (b == ' ')
            {
                sb.Append('+');
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return sb.ToString();
    }

    /// <summary>RFC 3339 with up to nine fractional digits; UTC out, to the tick, and the exact fraction.</summary>
    public static bool TryParseTime(string s, out DateTime utc, out int nanoseconds)
    {
        utc = default;
        nanoseconds = 0;
        if (s.Length < 20 || !DateTime.TryParseExact(s.AsSpan(0, 19), "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var seconds))
        {
            return false;
        }
        int i = 19;
        if (s[i] == '.')
        {
            int digits = 0;
            i++;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                if (digits < 9)
                {
                    nanoseconds = nanoseconds * 10 + (s[i] - '0');
                    digits++;
                }
                i++;
            }
            for (; digits < 9; digits++)
            {
                nanoseconds *= 10;
            }
        }
        var offset = TimeSpan.Zero;
        if (i < s.Length && s[i] is '+' or '-')
        {
            if (!TimeSpan.TryParseExact(s.AsSpan(i + 1), "hh\\:mm", CultureInfo.InvariantCulture, out offset))
            {
                return false;
            }
            offset = s[i] == '-' ? -offset : offset;
        }
        else if (i >= s.Length || s[i] is not ('Z' or 'z'))
        {
            return false;
        }
        utc = DateTime.SpecifyKind(seconds.AddTicks(nanoseconds / 100) - offset, DateTimeKind.Utc);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int stat(string path, byte* buf);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static unsafe partial int fstat(int fd, byte* buf);

    // st_ino sits at offset 8 on x86_64 and on arm64 (the generic layout) alike.
    private static unsafe ulong Inode(string path)
    {
        byte* b = stackalloc byte[256];
        return stat(path, b) == 0 ? *(ulong*)(b + 8) : 0;
    }

    private static unsafe ulong Inode(SafeHandle fd)
    {
        byte* b = stackalloc byte[256];
        return fstat((int)fd.DangerousGetHandle(), b) == 0 ? *(ulong*)(b + 8) : 0;
    }

    /// <summary>One log file read a line at a time; a line still being written waits for its newline.</summary>
    private sealed class LineSource : IDisposable
    {
        private readonly FileStream _file;
        private byte[] _buffer = new byte[64 * 1024];
        private int _start, _end;

        private LineSource(string path, FileStream file)
        {
            Path = path;
            _file = file;
            Inode = LogReader.Inode(file.SafeFileHandle);
        }

        public string Path { get; }
        public ulong Inode { get; }
        public long Length => _file.Length;
        public bool Truncated => _file.Length < _file.Position;

        public static LineSource Open(string path, long offset)
        {
            var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete, BufferSize = 0,
            });
            var source = new LineSource(path, file);
            source.Seek(offset);
            return source;
        }

        public void Seek(long offset)
        {
            _file.Position = offset;
            _start = _end = 0;
        }

        public bool TryReadLine(out ReadOnlyMemory<byte> line)
        {
            while (true)
            {
                int nl = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
                if (nl >= 0)
                {
                    line = _buffer.AsMemory(_start, nl);
                    _start += nl + 1;
                    return true;
                }
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                if (_end == _buffer.Length)
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }
                int n = _file.Read(_buffer, _end, _buffer.Length - _end);
                if (n <= 0)
                {
                    line = default;
                    return false;
                }
                _end += n;
            }
        }

        /// <summary>
        /// Where the last `need` complete lines start, or -1 when the file holds fewer (then
        /// `need` is reduced by how many it holds). A line not yet ended is not counted.
        /// </summary>
        public long StartOfLastLines(ref int need)
        {
            long end = _file.Length;
            if (need == 0)
            {
                return end;
            }
            var chunk = new byte[64 * 1024];
            long pos = end;
            bool seenEnd = false;
            int found = 0;
            while (pos > 0)
            {
                int n = (int)Math.Min(chunk.Length, pos);
                pos -= n;
                _file.Position = pos;
                _file.ReadExactly(chunk, 0, n);
                for (int i = n - 1; i >= 0; i--)
                {
                    if (chunk[i] != '\n')
                    {
                        continue;
                    }
                    if (!seenEnd)
                    {
                        // The newline that ends the last complete line.
                        seenEnd = true;
                        continue;
                    }
                    if (++found == need)
                    {
                        return pos + i + 1;
                    }
                }
            }
            if (seenEnd)
            {
                found++;
            }
            if (found >= need)
            {
                return 0;
            }
            need -= found;
            return -1;
        }

        public void Dispose() => _file.Dispose();
    }
}
