using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Skiff.Perf;

/// <summary>A process's memory as /proc/PID/status tells it (KiB).</summary>
internal sealed record ProcMemory(long VmRss, long RssAnon, long RssFile, long VmHwm)
{
    /// <summary>Null when the process is gone (or not ours to read).</summary>
    public static ProcMemory? Read(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/status");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        long Field(string key)
        {
            foreach (var line in text.Split('\n'))
                if (line.StartsWith(key + ":", StringComparison.Ordinal))
                    return long.TryParse(line[(key.Length + 1)..].Trim().Split(' ')[0], out long kib) ? kib : 0;
            return 0;
        }
        return new ProcMemory(Field("VmRSS"), Field("RssAnon"), Field("RssFile"), Field("VmHWM"));
    }
}

/// <summary>The processes under /proc, read by name and parent: enough to find a container's helpers.</summary>
internal static class Procs
{
    /// <summary>The command name (comm) of a process, or null when it is gone.</summary>
    public static string? Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static string Cmdline(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>Every live pid with its parent pid (from /proc/PID/stat, whose comm may hold spaces and parentheses).</summary>
    public static IEnumerable<(int Pid, int Parent)> All()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
                continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            int close = stat.LastIndexOf(')');
            var fields = close < 0 ? [] : stat[(close + 2)..].Split(' ');
            if (fields.Length > 1 && int.TryParse(fields[1], out int parent))
                yield return (pid, parent);
        }
    }

    public static IEnumerable<int> Children(int parent) => All().Where(p => p.Parent == parent).Select(p => p.Pid);
}

/// <summary>
/// A daemon the harness starts and stops itself (`skiff serve`, `podman system service`): its output kept for
/// an error message, ready when its unix socket answers `GET /_ping`, stopped with SIGTERM (SIGKILL after 10 s).
/// </summary>
internal sealed class Daemon : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private Daemon(Process process, string socket)
    {
        _process = process;
        Socket = socket;
    }

    public int Pid => _process.Id;

    /// <summary>
    /// The process that serves: the started one, or the descendant of the same name it runs under (rootless podman,
    /// with no pause process to join, forks itself into a new user namespace and waits for that child).
    /// </summary>
    public int ServingPid
    {
        get
        {
            int pid = Pid;
            string? comm = Procs.Comm(pid);
            while (comm is not null && Procs.Children(pid).FirstOrDefault(c => Procs.Comm(c) == comm) is int child and > 0)
                pid = child;
            return pid;
        }
    }
    public string Socket { get; }
    public bool Exited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString().Trim();
        }
    }

    /// <summary>Starts argv[0] with the rest as arguments and waits for <paramref name="socket"/> to answer; throws with its output when it does not.</summary>
    public static Daemon Start(string[] argv, string socket, TimeSpan within)
    {
        if (File.Exists(socket))
            File.Delete(socket);
        var start = new ProcessStartInfo(argv[0], argv[1..])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {argv[0]}");
        var daemon = new Daemon(process, socket);
        DataReceivedEventHandler keep = (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (daemon._output)
                if (daemon._output.Length < 16_384)
                    daemon._output.AppendLine(e.Data);
        };
        process.OutputDataReceived += keep;
        process.ErrorDataReceived += keep;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (!Pings(socket))
        {
            if (process.HasExited || deadline.Elapsed > within)
            {
                string why = process.HasExited ? $"exited ({process.ExitCode})" : $"did not answer on {socket} within {within.TotalSeconds:0} s";
                string output = daemon.Output;
                daemon.Dispose();
                throw new InvalidOperationException($"`{string.Join(' ', argv)}` {why}" + (output.Length > 0 ? $": {output}" : ""));
            }
            Thread.Sleep(20);
        }
        return daemon;
    }

    /// <summary>True when an HTTP `GET /_ping` on the unix socket gets an HTTP answer.</summary>
    public static bool Pings(string socket)
    {
        if (!File.Exists(socket))
            return false;
        try
        {
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            client.ReceiveTimeout = 2000;
            client.Connect(new UnixDomainSocketEndPoint(socket));
            client.Send("GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"u8);
            var buffer = new byte[64];
            int n = client.Receive(buffer);
            return Encoding.ASCII.GetString(buffer, 0, n).StartsWith("HTTP/1.", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                // The serving descendant first: the parent may exit on SIGTERM and leave it behind.
                int serving = ServingPid;
                if (serving != _process.Id)
                    Interop.Kill(serving, Interop.SIGTERM);
                Interop.Kill(_process.Id, Interop.SIGTERM);
                if (!_process.WaitForExit(10_000))
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(5000);
                }
                var deadline = Stopwatch.StartNew();
                while (serving != _process.Id && Procs.Comm(serving) is not null && deadline.Elapsed < TimeSpan.FromSeconds(10))
                    Thread.Sleep(50);
                // Only while it is still the daemon this started (its pid cannot have been reused while its command line names the socket).
                if (serving != _process.Id && Procs.Cmdline(serving).Contains(Socket, StringComparison.Ordinal))
                    Interop.Kill(serving, Interop.SIGKILL);
            }
        }
        catch (InvalidOperationException)
        {
            // Already reaped.
        }
        _process.Dispose();
        try
        {
            File.Delete(Socket);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>N runs of one command from C client threads, each with its own spawner: the load a daemon is measured under.</summary>
internal static class Load
{
    public static (double WallMs, int Failed, string? FirstFailure) Parallel(Spawner[] clients, NativeCommand command, int launches)
    {
        int next = 0, failed = 0;
        string? first = null;
        var threads = new Thread[clients.Length];
        using var start = new ManualResetEventSlim();
        for (int c = 0; c < clients.Length; c++)
        {
            var client = clients[c];
            threads[c] = new Thread(() =>
            {
                start.Wait();
                while (Interlocked.Increment(ref next) <= launches)
                {
                    var sample = client.Run(command);
                    if (sample.Succeeded)
                        continue;
                    Interlocked.Increment(ref failed);
                    string why = $"{sample.Outcome}: {client.LastStderr().Trim()}";
                    Interlocked.CompareExchange(ref first, why, null);
                }
            }) { IsBackground = true, Name = $"load client {c}" };
            threads[c].Start();
        }
        long t0 = Stopwatch.GetTimestamp();
        start.Set();
        foreach (var thread in threads)
            thread.Join();
        return (Stopwatch.GetElapsedTime(t0).TotalMilliseconds, failed, first);
    }
}
