using System.Collections;
using System.Net.Sockets;
using Skiff.Api.Streams;

namespace Skiff.Api.Exec;

/// <summary>
/// One API exec, run as `skiff exec` in a child process so that the exec'd program's
/// stdio is ours to pass on: pipes without a TTY, or a pseudo-terminal whose master we
/// hold with one (the child sees a terminal on fd 0, as `skiff exec -it` requires, and a
/// resize of the master reaches it as SIGWINCH). The child's exit code is the exec's.
/// </summary>
public sealed class ExecProcess : IDisposable
{
    private readonly bool _tty;
    private readonly FdLease? _master;
    private int _stdin;
    private int _stdout;
    private int _stderr;
    private int _disposed;

    private ExecProcess(int pid, bool tty, FdLease? master, int stdin, int stdout, int stderr)
    {
        Pid = pid;
        _tty = tty;
        _master = master;
        _stdin = stdin;
        _stdout = stdout;
        _stderr = stderr;
        Exited = Task.Factory.StartNew(() => ExecNative.Wait(pid), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public int Pid { get; }

    /// <summary>The child's exit code (128+N after signal N), once it has exited and been reaped.</summary>
    public Task<int> Exited { get; }

    /// <summary>
    /// Starts argv[0] with argv. attached=false (a detached exec) gives it /dev/null for
    /// stdio; stdin=false gives it /dev/null for stdin only.
    /// </summary>
    public static ExecProcess Start(IReadOnlyList<string> argv, bool tty, bool stdin, bool attached, ushort rows = 0, ushort cols = 0)
    {
        var env = new List<string>();
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env.Add($"{e.Key}={e.Value}");
        }
        var devNullIn = ExecNative.StdioSource.Open("/dev/null", ExecNative.O_RDONLY);
        var devNullOut = ExecNative.StdioSource.Open("/dev/null", ExecNative.O_RDWR);
        if (!attached)
        {
            int pid = ExecNative.Spawn(argv[0], argv, env, devNullIn, devNullOut, devNullOut);
            return new ExecProcess(pid, tty, null, -1, -1, -1);
        }
        if (tty)
        {
            var (master, slave) = ExecNative.OpenPty(rows, cols);
            try
            {
                // Opened in the child after setsid: the terminal becomes its controlling one.
                var terminal = ExecNative.StdioSource.Open(slave, ExecNative.O_RDWR);
                int pid = ExecNative.Spawn(argv[0], argv, env, terminal, ExecNative.StdioSource.Of(0), ExecNative.StdioSource.Of(0));
                return new ExecProcess(pid, tty, new FdLease(master), -1, -1, -1);
            }
            catch
            {
                Interop.Libc.close(master);
                throw;
            }
        }
        var fds = new List<int>();
        try
        {
            var input = stdin ? ExecNative.Pipe() : (-1, -1);
            fds.AddRange([input.Item1, input.Item2]);
            var output = ExecNative.Pipe();
            fds.AddRange([output.Read, output.Write]);
            var error = ExecNative.Pipe();
            fds.AddRange([error.Read, error.Write]);
            int pid = ExecNative.Spawn(argv[0], argv, env,
                stdin ? ExecNative.StdioSource.Of(input.Item1) : devNullIn,
                ExecNative.StdioSource.Of(output.Write), ExecNative.StdioSource.Of(error.Write));
            // The child's ends are the child's now.
            Close(input.Item1);
            Close(output.Write);
            Close(error.Write);
            return new ExecProcess(pid, tty, null, input.Item2, output.Read, error.Read);
        }
        catch
        {
            fds.ForEach(Close);
            throw;
        }
    }

    /// <summary>
    /// Passes the connection's bytes to the child's stdin (its end closes stdin: EOF) and the
    /// child's output to the connection, as frames without a TTY, raw with one. Returns the
    /// exit code once the child has exited and its output is drained (a background process
    /// that keeps the pipes open gets a fifth of a second more, not forever). A client that
    /// goes away stops nothing: the output is drained and dropped.
    /// </summary>
    public async Task<int> RunAsync(Stream connection, bool stdin, bool stdout, bool stderr)
    {
        var frames = _tty ? null : new MultiplexedStreamWriter(connection);
        var input = stdin ? PumpInputAsync(connection) : Task.CompletedTask;
        var output = Task.Factory.StartNew(() => PumpOutput(connection, frames, stdout, stderr), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        int code = await Exited.ConfigureAwait(false);
        await output.ConfigureAwait(false);
        _ = input;
        return code;
    }

    public void Resize(ushort rows, ushort cols) => _master?.TryUse(fd => ExecNative.Resize(fd, rows, cols));

    /// <summary>SIGKILL to the child (its exec'd program dies with it).</summary>
    public void Kill() => Interop.Libc.kill(Pid, 9);

    private async Task PumpInputAsync(Stream connection)
    {
        int fd = _tty ? -1 : Interlocked.Exchange(ref _stdin, -1);
        if (_tty && !_master!.TryAcquire())
        {
            return;
        }
        var buffer = new byte[16 * 1024];
        try
        {
            int n;
            while ((n = await connection.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                if (!WriteAll(_tty ? _master!.Fd : fd, buffer.AsSpan(0, n)))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection ended: so does the input.
        }
        finally
        {
            if (_tty)
            {
                _master!.Release();
            }
            else
            {
                Close(fd);
            }
        }
    }

    private static unsafe bool WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            return Interop.Libc.WriteAll(fd, p, data.Length) == 0;
        }
    }

    private void PumpOutput(Stream connection, MultiplexedStreamWriter? frames, bool stdout, bool stderr)
    {
        int[] fds;
        StdStream[] kinds;
        if (_tty)
        {
            if (!_master!.TryAcquire())
            {
                return;
            }
            fds = [_master.Fd];
            kinds = [StdStream.Stdout];
        }
        else
        {
            fds = [Interlocked.Exchange(ref _stdout, -1), Interlocked.Exchange(ref _stderr, -1)];
            kinds = [StdStream.Stdout, StdStream.Stderr];
        }
        bool clientGone = false;
        var buffer = new byte[32 * 1024];
        var open = fds.Select(fd => fd >= 0).ToArray();
        int quietAfterExit = 0;
        try
        {
            while (open.Any(o => o))
            {
                int ready = Poll(fds, open, 100);
                if (ready == 0)
                {
                    if (Exited.IsCompleted && ++quietAfterExit >= 2)
                    {
                        break;
                    }
                    continue;
                }
                quietAfterExit = 0;
                for (int i = 0; i < fds.Length; i++)
                {
                    if (!open[i] || (ready & (1 << i)) == 0)
                    {
                        continue;
                    }
                    int n = Read(fds[i], buffer);
                    if (n <= 0)
                    {
                        // EOF, or EIO on a terminal master once no one holds the slave.
                        open[i] = false;
                        continue;
                    }
                    bool wanted = kinds[i] == StdStream.Stdout ? stdout || _tty : stderr;
                    if (clientGone || !wanted)
                    {
                        continue;
                    }
                    try
                    {
                        if (frames is null)
                        {
                            connection.Write(buffer, 0, n);
                        }
                        else
                        {
                            frames.WriteAsync(kinds[i], buffer.AsMemory(0, n)).GetAwaiter().GetResult();
                        }
                    }
                    catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                    {
                        clientGone = true;
                    }
                }
            }
        }
        finally
        {
            if (_tty)
            {
                _master!.Release();
            }
            else
            {
                Array.ForEach(fds, Close);
            }
        }
    }

    /// <summary>poll(2) on the open fds: a bit mask of the readable (or hung up) ones, 0 on timeout.</summary>
    private static unsafe int Poll(int[] fds, bool[] open, int timeoutMs)
    {
        var set = stackalloc ExecNative.PollFd[fds.Length];
        var index = stackalloc int[fds.Length];
        int count = 0;
        for (int i = 0; i < fds.Length; i++)
        {
            if (open[i])
            {
                set[count] = new ExecNative.PollFd { Fd = fds[i], Events = ExecNative.POLLIN };
                index[count++] = i;
            }
        }
        int rc = ExecNative.poll(set, (nuint)count, timeoutMs);
        if (rc <= 0)
        {
            return 0;
        }
        int mask = 0;
        for (int k = 0; k < count; k++)
        {
            if ((set[k].Revents & (ExecNative.POLLIN | ExecNative.POLLHUP | ExecNative.POLLERR)) != 0)
            {
                mask |= 1 << index[k];
            }
        }
        return mask;
    }

    private static unsafe int Read(int fd, byte[] buffer)
    {
        fixed (byte* p = buffer)
        {
            return (int)Interop.Libc.ReadRetry(fd, p, buffer.Length);
        }
    }

    private static void Close(int fd)
    {
        if (fd >= 0)
        {
            Interop.Libc.close(fd);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        Close(Interlocked.Exchange(ref _stdin, -1));
        Close(Interlocked.Exchange(ref _stdout, -1));
        Close(Interlocked.Exchange(ref _stderr, -1));
        _master?.Release();
    }

    /// <summary>
    /// An fd several threads use (the terminal master: output pump, input pump, resize),
    /// closed when the last user lets go, so no one ever acts on a number reused by another file.
    /// </summary>
    private sealed class FdLease(int fd)
    {
        private readonly object _lock = new();
        private int _users = 1;

        public int Fd { get; } = fd;

        public bool TryAcquire()
        {
            lock (_lock)
            {
                if (_users == 0)
                {
                    return false;
                }
                _users++;
                return true;
            }
        }

        public void Release()
        {
            lock (_lock)
            {
                if (_users == 0 || --_users > 0)
                {
                    return;
                }
            }
            Interop.Libc.close(Fd);
        }

        public void TryUse(Action<int> act)
        {
            if (!TryAcquire())
            {
                return;
            }
            try
            {
                act(Fd);
            }
            finally
            {
                Release();
            }
        }
    }
}
