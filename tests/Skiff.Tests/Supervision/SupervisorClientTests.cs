using System.Text;
using Skiff.Runtime.Supervision;

namespace Skiff.Tests.Supervision;

/// <summary>The managed side against a real supervisor (the shared shim build, in --direct mode).</summary>
public sealed class SupervisorClientTests : IDisposable
{
    private readonly SupervisorHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Spawn_returns_the_pid_and_stop_returns_once_the_exit_is_recorded()
    {
        int pid = _h.Spawn(new SupervisorOptions { Direct = true }, "/bin/busybox", "sleep", "100");

        var live = Supervisor.QueryState(_h.Dir)!;
        Assert.Equal("running", live.Status);
        Assert.Equal(pid, live.Pid);
        Assert.True(ProcessLiveness.IsAlive(pid, live.PidStart));

        Assert.True(Supervisor.Stop(_h.Dir, 15, 10));

        var state = _h.State;
        Assert.Equal("exited", state.Status);
        Assert.Equal(143, state.ExitCode);
        Assert.False(ProcessLiveness.IsAlive(pid, live.PidStart));
        _h.WaitForExit();
        Assert.False(Supervisor.Stop(_h.Dir, 15, 10)); // nobody answers any more
        Assert.False(File.Exists(Path.Combine(_h.Dir, Supervisor.SocketName)));
    }

    [Fact]
    public async Task Attach_carries_stdin_in_and_both_streams_and_the_exit_code_out()
    {
        _h.Spawn(new SupervisorOptions { Direct = true, Stdin = true, StdinOnce = true },
            "/bin/busybox", "sh", "-c", "cat; echo bye >&2; exit 4");
        using var client = AttachClient.Connect(_h.Dir, AttachStreams.Stdin | AttachStreams.Stdout | AttachStreams.Stderr)!;
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();

        int? code = await client.RunAsync(new MemoryStream("hello\n"u8.ToArray()), stdout, stderr).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(4, code);
        Assert.Equal("hello\n", Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Equal("bye\n", Encoding.UTF8.GetString(stderr.ToArray()));
    }

    [Fact]
    public void Signal_reaches_the_container_and_a_finished_one_is_not_running()
    {
        _h.Spawn(new SupervisorOptions { Direct = true }, "/bin/busybox", "sh", "-c", "trap 'exit 42' USR1; while :; do sleep 0.05; done");
        Thread.Sleep(100); // the trap is set

        Supervisor.Signal(_h.Dir, 10);

        Assert.Equal(42, _h.WaitForExit().ExitCode);
        var e = Assert.Throws<SkiffException>(() => Supervisor.Signal(_h.Dir, 10));
        Assert.Equal(ErrorCategory.Conflict, e.Category);
    }

    [Fact]
    public void A_missing_command_is_command_not_found_and_leaves_a_created_state()
    {
        var e = Assert.Throws<SkiffException>(() => _h.Spawn(new SupervisorOptions { Direct = true }, "no-such-command-here"));

        Assert.Equal(ErrorCategory.CommandNotFound, e.Category);
        Assert.Contains("no-such-command-here", e.Message);
        var state = _h.WaitForExit();
        Assert.Equal("created", state.Status);
        Assert.Equal(127, state.ExitCode);
        Assert.Equal(e.Message, state.Error);
    }

    [Fact]
    public void A_directory_is_cannot_invoke()
    {
        var e = Assert.Throws<SkiffException>(() => _h.Spawn(new SupervisorOptions { Direct = true }, "/etc"));

        Assert.Equal(ErrorCategory.CannotInvoke, e.Category);
    }

    [Fact]
    public void A_worker_that_dies_without_a_word_is_reported_with_its_status()
    {
        var e = Assert.Throws<SkiffException>(() => _h.Spawn(new SupervisorOptions(), "/bin/busybox", "sh", "-c", "exit 7"));

        Assert.Equal(ErrorCategory.Internal, e.Category);
        Assert.Equal("the container launcher died (exit status 7)", e.Message);
    }

    [Fact]
    public void The_on_exit_command_runs_after_the_final_state_with_the_directory_in_its_env()
    {
        string marker = Path.Combine(Path.GetDirectoryName(_h.Dir)!, "on-exit");
        _h.Spawn(new SupervisorOptions { Direct = true, OnExit = ["/bin/busybox", "sh", "-c", $"cat \"$SKIFF_CONTAINER_DIR/state.json\" > {marker}"] },
            "/bin/busybox", "true");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(marker) || new FileInfo(marker).Length == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "the on-exit command did not run");
            Thread.Sleep(10);
        }
        Assert.Contains("\"Status\":\"exited\"", File.ReadAllText(marker));
    }
}
