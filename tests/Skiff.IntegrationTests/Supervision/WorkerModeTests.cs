using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Supervision;

/// <summary>
/// The supervisor with a worker, as `skiff start` runs it: the worker (here test-worker.c,
/// built with cc) clones the container with CLONE_PARENT, reports "pid PID" (and a pty
/// master) on fd 3 and exits; the supervisor takes over the container as its own child.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed class WorkerModeTests(SkiffInstall install)
{
    private static readonly SemaphoreSlim Building = new(1, 1);

    private async Task<string> WorkerAsync()
    {
        string worker = Path.Combine(install.Dir, "test-worker");
        await Building.WaitAsync();
        try
        {
            if (!File.Exists(worker))
            {
                string source = Path.Combine(install.RepoRoot, "tests", "Skiff.IntegrationTests", "Supervision", "test-worker.c");
                (await HostProcess.RunAsync(["cc", "-O1", "-Wall", "-Werror", "-o", worker, source])).AssertExit(0);
            }
        }
        finally
        {
            Building.Release();
        }
        return worker;
    }

    [Theory, BothModes]
    public async Task A_clone_parent_container_is_supervised_to_its_exit(Mode mode)
    {
        using var c = new SupervisedContainer(install, mode);
        string worker = await WorkerAsync();

        int pid = await c.StartOkAsync([], [worker, .. c.Sh("echo from the container; exit 6")]);
        var state = await c.WaitForFinalAsync();

        Assert.True(pid > 0);
        Assert.Equal(6, state.GetProperty("ExitCode").GetInt32());
        Assert.Equal([("from the container\n", "stdout")], c.LogEntries().Select(e => (e.Log, e.Stream)));
        await c.AssertNoProcessLeftAsync();
    }

    [Fact]
    public async Task With_a_terminal_output_input_and_size_go_through_the_pty()
    {
        using var c = new SupervisedContainer(install);
        string worker = await WorkerAsync();
        string[] command = [worker, .. c.Sh("read line; echo \"got $line\"; stty size; exit 2")];
        var env = new Dictionary<string, string?> { ["TEST_WORKER_TTY"] = "1" };

        var ready = (await c.StartAsync(["--tty", "--stdin"], command, env)).AssertExit(0);
        Assert.StartsWith("ok ", ready.Stdout);

        using (var resize = c.Connect())
        {
            resize.Send([(byte)'R', 0, 40, 0, 100]); // 40 rows, 100 columns
            Assert.Equal([0], await SupervisedContainer.ReadToEndAsync(resize));
        }
        using var attach = c.Connect();
        attach.Send([(byte)'A', 7, .. "hello\r"u8]);
        var frames = SupervisedContainer.ParseFrames(await SupervisedContainer.ReadToEndAsync(attach));

        string output = string.Concat(frames.Where(f => f.Stream == 1).Select(f => f.Text));
        Assert.Contains("got hello\r\n", output);
        Assert.Contains("40 100\r\n", output);
        Assert.DoesNotContain(frames, f => f.Stream == 2); // a terminal has one stream
        Assert.Equal("exit 2", frames[^1].Text);
        Assert.All(c.LogEntries(), e => Assert.Equal("stdout", e.Stream));
        Assert.Contains(c.LogEntries(), e => e.Log == "got hello\r\n");
        await c.AssertNoProcessLeftAsync();
    }

    [Fact]
    public async Task A_worker_that_fails_reports_its_error_line()
    {
        using var c = new SupervisedContainer(install);

        var result = (await c.StartAsync([], ["/bin/busybox", "sh", "-c", "exit 9", c.Marker])).AssertExit(0);

        Assert.Equal("error 125 the container launcher died (exit status 9)\n", result.Stdout);
        Assert.Equal("created", (await c.WaitForFinalAsync()).GetProperty("Status").GetString());
    }

    [Fact]
    public async Task Output_before_the_pid_arrives_is_not_lost()
    {
        using var c = new SupervisedContainer(install);
        string worker = await WorkerAsync();

        // The container may write and even exit before the supervisor reads the worker's message.
        await c.StartOkAsync([], [worker, .. c.Sh("echo quick")]);
        var state = await c.WaitForFinalAsync();

        Assert.Equal(0, state.GetProperty("ExitCode").GetInt32());
        Assert.Equal("quick\n", c.LogEntries()[0].Log);
    }
}
