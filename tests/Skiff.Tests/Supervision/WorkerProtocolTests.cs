using System.Diagnostics;
using Skiff.Runtime.Supervision;

namespace Skiff.Tests.Supervision;

/// <summary>
/// WorkerChannel against a real supervisor. The worker is a shell that only waits; the
/// test takes a copy of its fd 3 (pidfd_getfd, as root) and reports from here, naming the
/// worker itself as the container: it is the supervisor's child, as CLONE_PARENT makes
/// a real container.
/// </summary>
public sealed class WorkerProtocolTests : IDisposable
{
    private readonly SupervisorHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static bool IsRoot => Interop.Libc.geteuid() == 0;

    /// <summary>Starts Spawn in the background and returns it with the worker's pid and our copy of its fd 3.</summary>
    private (Task<int> Spawn, int WorkerPid, int Channel) StartWorker(SupervisorOptions options)
    {
        string marker = "worker-" + Guid.NewGuid().ToString("N");
        var spawn = Task.Run(() => _h.Spawn(options, "/bin/busybox", "sh", "-c", "sleep 30; :", marker));
        var clock = Stopwatch.StartNew();
        while (true)
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                // The supervisor's own argv holds the marker too: the worker is the one that exec'd busybox.
                if (int.TryParse(Path.GetFileName(dir), out int pid) && ReadCmdline(pid) is var cmdline
                    && cmdline.StartsWith("/bin/busybox\0", StringComparison.Ordinal) && cmdline.Contains(marker, StringComparison.Ordinal))
                {
                    int pidFd = Interop.Libc.pidfd_open(pid, 0);
                    Assert.True(pidFd >= 0, "pidfd_open of the worker");
                    int channel = TestLibc.PidFdGetFd(pidFd, 3);
                    Interop.Libc.close(pidFd);
                    Assert.True(channel >= 0, "pidfd_getfd of the worker's fd 3");
                    return (spawn, pid, channel);
                }
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), spawn.IsFaulted ? spawn.Exception!.ToString() : "no worker");
            Thread.Sleep(10);
        }
    }

    private static string ReadCmdline(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    [Fact]
    public async Task A_reported_pid_with_a_terminal_and_a_held_fd_is_supervised()
    {
        Assert.True(IsRoot, "pidfd_getfd of another process needs root here");
        var (spawn, worker, channel) = StartWorker(new SupervisorOptions { Tty = true, Stdin = true });
        var (master, slave) = TestLibc.OpenPty();
        var held = TestLibc.Pipe();

        new WorkerChannel(channel).ReportPid(worker, master, [held.Write]);
        Interop.Libc.close(channel);
        Interop.Libc.close(master);
        Interop.Libc.close(held.Write);

        Assert.Equal(worker, await spawn.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal("running", _h.State.Status);

        // Output on the terminal reaches the log as stdout; attach input reaches the terminal.
        TestLibc.Write(slave, "from the terminal\n");
        using (var client = AttachClient.Connect(_h.Dir, AttachStreams.Stdin | AttachStreams.Stdout)!)
        {
            client.Stream.Write("typed\n"u8);
            Assert.Contains("typed", TestLibc.Read(slave));
        }
        Supervisor.Resize(_h.Dir, 33, 120);
        Assert.Equal((33, 120), TestLibc.TtySize(slave));

        Interop.Libc.close(slave);
        Assert.True(Supervisor.Stop(_h.Dir, 9, 0));

        Assert.Equal(137, _h.State.ExitCode);
        Assert.Equal("", TestLibc.Read(held.Read)); // EOF: the supervisor let go of the held fd
        Interop.Libc.close(held.Read);
        string log = File.ReadAllText(_h.LogFile);
        Assert.Contains("{\"log\":\"from the terminal\\r\\n\",\"stream\":\"stdout\"", log);
    }

    [Fact]
    public async Task A_reported_error_fails_spawn_with_its_category()
    {
        Assert.True(IsRoot, "pidfd_getfd of another process needs root here");
        var (spawn, worker, channel) = StartWorker(new SupervisorOptions());

        new WorkerChannel(channel).ReportError(127, "exec: \"nope\": executable file not found in $PATH\nsecond line");
        Interop.Libc.close(channel);
        TestLibc.kill(worker, 9);

        var e = await Assert.ThrowsAsync<SkiffException>(() => spawn.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(ErrorCategory.CommandNotFound, e.Category);
        Assert.Equal("exec: \"nope\": executable file not found in $PATH second line", e.Message);
        Assert.Equal(127, _h.WaitForExit().ExitCode);
    }

    [Fact]
    public async Task A_pid_that_is_not_the_supervisors_child_is_refused()
    {
        Assert.True(IsRoot, "pidfd_getfd of another process needs root here");
        var (spawn, worker, channel) = StartWorker(new SupervisorOptions());

        new WorkerChannel(channel).ReportPid(Environment.ProcessId);
        Interop.Libc.close(channel);
        TestLibc.kill(worker, 9);

        var e = await Assert.ThrowsAsync<SkiffException>(() => spawn.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("not the supervisor's child", e.Message);
    }
}
