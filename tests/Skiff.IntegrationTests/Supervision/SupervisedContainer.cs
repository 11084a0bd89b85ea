using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Supervision;

/// <summary>One frame from attach.sock: [stream, 0, 0, 0, length u32 BE] payload.</summary>
public sealed record Frame(int Stream, byte[] Payload)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Payload);
}

/// <summary>
/// A container directory run by out/skiff as skiff-supervisor (a symlink of that name), as
/// root or as skiff-test. The supervisor's ready fd is the spawner's stdout (3>&1), so
/// starting returns once the container runs, with the ready line as stdout.
/// </summary>
public sealed class SupervisedContainer : IDisposable
{
    private readonly Sandbox _box;

    public SupervisedContainer(SkiffInstall install, Mode mode = Mode.Root)
    {
        _box = install.NewSandbox(mode);
        Dir = Path.Combine(_box.Dir, "ctr");
        Directory.CreateDirectory(Dir);
        if (HostUsers.NameOf(mode) is { } name)
        {
            var user = HostUsers.Get(name);
            Libc.Chown(Dir, user.Uid, user.Gid);
        }
        Program = Path.Combine(_box.Dir, "skiff-supervisor");
        File.CreateSymbolicLink(Program, install.Skiff);
    }

    public Mode Mode => _box.Mode;

    public string Dir { get; }

    /// <summary>The symlink named skiff-supervisor.</summary>
    public string Program { get; }

    /// <summary>In the supervisor's argv (through DIR) and, by convention, in the container's ($0 of sh -c).</summary>
    public string Marker => _box.Marker;

    public string LogFile => Path.Combine(Dir, "ctr-json.log");

    /// <summary>busybox sh -c SCRIPT with the marker as $0.</summary>
    public string[] Sh(string script) => ["/bin/busybox", "sh", "-c", script, Marker];

    /// <summary>Runs the supervisor and returns once its first process is gone and the ready line is written.</summary>
    public Task<ProcessResult> StartAsync(IEnumerable<string> options, IEnumerable<string> command,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        string[] supervisor = ["/bin/sh", "-c", "exec \"$@\" 3>&1", "sh", Program, Dir, "--ready-fd", "3", .. options, "--", .. command];
        string[] argv = HostUsers.NameOf(Mode) is { } user ? ["runuser", "-u", user, "--", .. supervisor] : supervisor;
        return HostProcess.RunAsync(argv, environment: environment, timeout: TimeSpan.FromSeconds(10));
    }

    /// <summary>Starts and expects "ok PID": returns the container's pid.</summary>
    public async Task<int> StartOkAsync(IEnumerable<string> options, IEnumerable<string> command)
    {
        var result = (await StartAsync(options, command)).AssertExit(0);
        Assert.StartsWith("ok ", result.Stdout);
        return int.Parse(result.Stdout[3..].Trim());
    }

    public JsonElement State()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir, "state.json")));
        return doc.RootElement.Clone();
    }

    /// <summary>Polls state.json until the predicate holds.</summary>
    public async Task<JsonElement> WaitForStateAsync(Func<JsonElement, bool> done, string what, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (File.Exists(Path.Combine(Dir, "state.json")) && State() is var state && done(state))
            {
                return state;
            }
            Assert.True(clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(5)),
                $"no state with {what} in {Dir}: {(File.Exists(Path.Combine(Dir, "state.json")) ? State().ToString() : "(none)")}");
            await Task.Delay(10);
        }
    }

    /// <summary>The final state, once the supervisor itself has gone.</summary>
    public Task<JsonElement> WaitForFinalAsync(TimeSpan? timeout = null) =>
        WaitForStateAsync(s => s.GetProperty("Status").GetString() is "exited" or "created"
            && !IsAlive(s.GetProperty("SupervisorPid").GetInt32(), s.GetProperty("SupervisorStart").GetUInt64()), "a final status", timeout);

    /// <summary>The entries of a json-file log (the current file, or a rotated one).</summary>
    public List<(string Log, string Stream, string Time)> LogEntries(string? file = null)
    {
        var entries = new List<(string, string, string)>();
        foreach (var line in File.ReadAllLines(file ?? LogFile))
        {
            using var doc = JsonDocument.Parse(line);
            var e = doc.RootElement;
            entries.Add((e.GetProperty("log").GetString()!, e.GetProperty("stream").GetString()!, e.GetProperty("time").GetString()!));
        }
        return entries;
    }

    public Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(Path.Combine(Dir, "attach.sock")));
        return socket;
    }

    /// <summary>Sends a request ('S', 'K', 'R', 'P' or 'A') with big-endian integer arguments.</summary>
    public static void Send(Socket socket, char kind, params int[] args)
    {
        var bytes = new List<byte> { (byte)kind };
        foreach (int a in args)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(b, a);
            bytes.AddRange(b);
        }
        socket.Send(bytes.ToArray());
    }

    /// <summary>Everything until the supervisor closes the connection.</summary>
    public static async Task<byte[]> ReadToEndAsync(Socket socket, TimeSpan? timeout = null)
    {
        var all = new MemoryStream();
        var buffer = new byte[65536];
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token)) > 0)
        {
            all.Write(buffer, 0, n);
        }
        return all.ToArray();
    }

    public static List<Frame> ParseFrames(byte[] bytes)
    {
        var frames = new List<Frame>();
        int at = 0;
        while (at + 8 <= bytes.Length)
        {
            int len = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 4));
            Assert.True(bytes[at + 1] == 0 && bytes[at + 2] == 0 && bytes[at + 3] == 0, "frame header padding");
            frames.Add(new Frame(bytes[at], bytes[(at + 8)..(at + 8 + len)]));
            at += 8 + len;
        }
        Assert.Equal(bytes.Length, at);
        return frames;
    }

    /// <summary>/proc/PID/stat field 22 matches: the same process, not a later one with its pid.</summary>
    public static bool IsAlive(int pid, ulong start)
    {
        if (pid <= 0)
        {
            return false;
        }
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return rest[0] != "Z" && ulong.Parse(rest[19]) == start;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>No supervisor, container or child of it carries the marker any more (waits a little for exits).</summary>
    public async Task AssertNoProcessLeftAsync()
    {
        var clock = Stopwatch.StartNew();
        List<HostProcessEntry> left;
        while ((left = Leftovers()).Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            await Task.Delay(20);
        }
        Assert.True(left.Count == 0, $"processes left: {string.Join(", ", left.Select(p => $"{p.Pid} {Shell.Join(p.Argv)}"))}");
    }

    private List<HostProcessEntry> Leftovers() =>
        ProcTable.Snapshot().Where(p => p.Argv.Any(a => a.Contains(Marker, StringComparison.Ordinal))).ToList();

    public void Dispose()
    {
        foreach (var p in Leftovers())
        {
            try
            {
                Libc.Kill(p.Pid, Libc.SIGKILL);
            }
            catch (InvalidOperationException)
            {
                // gone meanwhile
            }
        }
        _box.Dispose();
    }
}
