using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Lifecycle;

/// <summary>
/// Issue 5's must-shows with real containers, rootless and as root: detached containers
/// under a supervisor, logs, exec, stop, binds, published ports, limits, restarts, a killed
/// supervisor, and many clients at once.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed class ContainerLifecycleTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task Run_detached_then_logs_follow_streams_until_the_container_exits(Mode mode)
    {
        await using var b = await ImageBox.CreateAsync(install, mode);
        await b.StartAsync("ticker", [], "sh", "-c", "for i in 1 2 3; do echo line$i; echo err$i >&2; sleep 0.3; done");

        var logs = (await b.Skiff(["logs", "-f", "ticker"])).AssertExit(0);

        Assert.Equal("line1\nline2\nline3\n", logs.Stdout);
        Assert.Equal("err1\nerr2\nerr3\n", logs.Stderr);
        var ps = (await b.Skiff(["ps", "-a", "--format", "{{.Names}} {{.Status}}"])).AssertExit(0);
        Assert.StartsWith("ticker Exited (0) ", ps.Stdout);
    }

    [Theory, BothModes]
    public async Task Exec_returns_the_commands_exit_code_and_sees_the_containers_world(Mode mode)
    {
        await using var b = await ImageBox.CreateAsync(install, mode);
        await b.StartAsync("box", ["-e", "FROM_RUN=yes", "-w", "/tmp"], "sleep", "600");

        (await b.Skiff(["exec", "box", "sh", "-c", "exit 7"])).AssertExit(7);
        var env = (await b.Skiff(["exec", "-e", "FROM_EXEC=1", "box", "sh", "-c", "echo $FROM_RUN $FROM_EXEC $(pwd) $$"])).AssertExit(0);
        Assert.Matches(@"^yes 1 /tmp \d+\n$", env.Stdout);
        var stdin = (await b.Skiff(["exec", "-i", "box", "cat"], stdin: "piped\n")).AssertExit(0);
        Assert.Equal("piped\n", stdin.Stdout);
        (await b.Skiff(["exec", "box", "nonexistent-command"])).AssertExit(127);

        (await b.Skiff(["stop", "-t", "0", "box"])).AssertExit(0);
        var stopped = (await b.Skiff(["exec", "box", "true"])).AssertExit(1);
        Assert.Contains("is not running", stopped.Stderr);
    }

    [Theory, BothModes]
    public async Task Stop_sends_the_stop_signal_and_ps_shows_the_exit_code(Mode mode)
    {
        await using var b = await ImageBox.CreateAsync(install, mode);
        await b.StartAsync("trapper", [], "sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.1; done");
        await Task.Delay(300);

        (await b.Skiff(["stop", "trapper"])).AssertExit(0);

        var ps = (await b.Skiff(["ps", "-a", "--format", "{{.Names}}|{{.Status}}"])).AssertExit(0);
        Assert.StartsWith("trapper|Exited (3) ", ps.Stdout);
        Assert.Equal("", (await b.Skiff(["ps", "-q"])).AssertExit(0).Stdout);
        var state = (await b.InspectAsync("trapper")).GetProperty("State");
        Assert.Equal("exited", state.GetProperty("Status").GetString());
        Assert.Equal(3, state.GetProperty("ExitCode").GetInt32());
    }

    [Theory, BothModes]
    public async Task A_foreground_run_without_rm_keeps_the_container_and_start_attach_reruns_it(Mode mode)
    {
        await using var b = await ImageBox.CreateAsync(install, mode);

        var run = (await b.Skiff(["run", "--name", "fg", "busybox", "sh", "-c", "echo out; echo err >&2; exit 4"])).AssertExit(4);
        Assert.Equal("out\n", run.Stdout);
        Assert.Equal("err\n", run.Stderr);
        Assert.StartsWith("Exited (4)", (await b.Skiff(["ps", "-a", "--format", "{{.Status}}"])).Stdout);

        var again = (await b.Skiff(["start", "-a", "fg"])).AssertExit(4);
        Assert.Equal("out\n", again.Stdout);
        var piped = (await b.Skiff(["run", "-i", "--rm", "busybox", "cat"], stdin: "a\nb\n")).AssertExit(0);
        Assert.Equal("a\nb\n", piped.Stdout);
        var supervisedStdin = (await b.Skiff(["run", "-i", "--name", "cat", "busybox", "cat"], stdin: "c\n")).AssertExit(0);
        Assert.Equal("c\n", supervisedStdin.Stdout);
    }

    [Theory, BothModes]
    public async Task A_bind_mount_reads_and_writes_the_host_directory(Mode mode)
    {
        await using var b = await ImageBox.CreateAsync(install, mode);
        string data = Path.Combine(b.Box.Dir, "data");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "from-host"), "hello from the host\n");
        if (HostUsers.NameOf(mode) is { } user)
        {
            var u = HostUsers.Get(user);
            Libc.Chown(data, u.Uid, u.Gid);
            Libc.Chown(Path.Combine(data, "from-host"), u.Uid, u.Gid);
        }

        var r = (await b.Skiff(["run", "--rm", "-v", $"{data}:/data", "busybox", "sh", "-c", "cat /data/from-host; echo written > /data/from-container"])).AssertExit(0);

        Assert.Equal("hello from the host\n", r.Stdout);
        Assert.Equal("written\n", File.ReadAllText(Path.Combine(data, "from-container")));
        var ro = await b.Skiff(["run", "--rm", "-v", $"{data}:/data:ro", "busybox", "sh", "-c", "echo x > /data/nope"]);
        Assert.NotEqual(0, ro.ExitCode);
        Assert.Contains("Read-only file system", ro.Stderr);
    }

    [Theory, BothModes]
    public async Task A_published_port_reaches_httpd_in_the_container(Mode mode)
    {
        await using var b = await ImageBox.CreateAsync(install, mode);
        int port = FreePort();
        await b.StartAsync("web", ["-p", $"127.0.0.1:{port}:80"], "sh", "-c",
            "mkdir -p /www && echo hello-from-httpd > /www/index.html && exec httpd -f -p 80 -h /www");

        string body = "";
        await ImageBox.EventuallyAsync("httpd to answer", async () =>
        {
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                body = await http.GetStringAsync($"http://127.0.0.1:{port}/");
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        });
        Assert.Equal("hello-from-httpd\n", body);
        Assert.Contains($"127.0.0.1:{port}->80/tcp", (await b.Skiff(["ps", "--format", "{{.Ports}}"])).Stdout);

        // The port is taken: a second container gets Docker's error and leaves nothing.
        var clash = await b.Skiff(["run", "-d", "--name", "web2", "-p", $"127.0.0.1:{port}:80", "busybox", "true"]);
        Assert.Equal(125, clash.ExitCode);
        Assert.Contains("port is already allocated", clash.Stderr);
    }

    [Fact]
    public async Task Memory_limit_gets_a_process_oom_killed()
    {
        await using var b = await ImageBox.CreateAsync(install, Mode.Root);

        var r = await b.Skiff(["run", "--name", "hog", "--memory", "16m", "--memory-swap", "16m", "busybox", "sh", "-c",
            "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"], timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(137, r.ExitCode);
        Assert.DoesNotContain("survived", r.Stdout);
        Assert.True((await b.InspectAsync("hog")).GetProperty("State").GetProperty("OOMKilled").GetBoolean());
    }

    [Fact]
    public async Task Pids_limit_contains_a_fork_bomb()
    {
        await using var b = await ImageBox.CreateAsync(install, Mode.Root);

        var r = await b.Skiff(["run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c",
            "i=0; while [ $i -lt 60 ]; do sleep 5 & i=$((i+1)); done; echo forked; kill $(jobs -p) 2>/dev/null; true"],
            timeout: TimeSpan.FromSeconds(60));

        Assert.Contains("fork", r.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Rootless_limits_without_a_delegated_cgroup_are_refused_with_what_is_missing()
    {
        await using var b = await ImageBox.CreateAsync(install, Mode.Rootless);

        var r = await b.Skiff(["run", "--rm", "--memory", "16m", "busybox", "true"]);

        Assert.Equal(125, r.ExitCode);
        Assert.Contains("--memory", r.Stderr);
        Assert.Contains("cgroup", r.Stderr);
    }

    [Theory, BothModes]
    public async Task Restart_on_failure_2_restarts_twice(Mode mode)
    {
        await using var b = await ImageBox.CreateAsync(install, mode);
        string id = await b.StartAsync("flaky", ["--restart", "on-failure:2"], "sh", "-c", "echo run; exit 3");

        await ImageBox.EventuallyAsync("two restarts and a final exit", async () =>
        {
            var s = (await b.InspectAsync("flaky")).GetProperty("State");
            return s.GetProperty("Status").GetString() == "exited";
        });
        var inspect = await b.InspectAsync("flaky");
        Assert.Equal(2, inspect.GetProperty("RestartCount").GetInt32());
        Assert.Equal(3, inspect.GetProperty("State").GetProperty("ExitCode").GetInt32());
        Assert.Equal("run\nrun\nrun\n", (await b.Skiff(["logs", id])).Stdout);
    }

    [Theory, BothModes]
    public async Task A_supervisor_killed_with_sigkill_is_detected_and_rm_f_cleans_up(Mode mode)
    {
        await using var b = await ImageBox.CreateAsync(install, mode);
        string id = await b.StartAsync("victim", [], "sleep", "600");
        using var state = JsonDocument.Parse(File.ReadAllText(b.StateFile(id)));
        int supervisor = state.RootElement.GetProperty("SupervisorPid").GetInt32();
        int container = state.RootElement.GetProperty("Pid").GetInt32();

        (await HostProcess.RunAsync(["kill", "-KILL", supervisor.ToString(System.Globalization.CultureInfo.InvariantCulture)])).AssertExit(0);
        await ImageBox.EventuallyAsync("the container to die with its supervisor", () => Task.FromResult(!Directory.Exists($"/proc/{container}")));

        var ps = (await b.Skiff(["ps", "-a", "--format", "{{.Names}}|{{.State}}|{{.Status}}"])).AssertExit(0);
        Assert.StartsWith("victim|exited|Exited (137)", ps.Stdout);
        Assert.Equal("", (await b.Skiff(["ps", "-q"])).Stdout);

        (await b.Skiff(["rm", "-f", "victim"])).AssertExit(0);
        Assert.False(Directory.Exists(Path.Combine(b.Box.ContainersDir, id)));
        Assert.Equal("", (await b.Skiff(["ps", "-aq"])).Stdout);
    }

    [Theory, BothModes]
    public async Task Fifty_parallel_run_d_and_rm_f_leave_a_consistent_store(Mode mode)
    {
        await using var b = await ImageBox.CreateAsync(install, mode);

        var runs = Enumerable.Range(0, 50).Select(i => b.Skiff(["run", "-d", "--name", $"p{i}", "busybox", "sleep", "600"], timeout: TimeSpan.FromSeconds(120)));
        foreach (var r in await Task.WhenAll(runs))
        {
            r.AssertExit(0);
        }
        // The same name twice: exactly one wins, the other gets Docker's conflict.
        var dup = await Task.WhenAll(b.Skiff(["create", "--name", "dup", "busybox", "true"]), b.Skiff(["create", "--name", "dup", "busybox", "true"]));
        Assert.Equal([0, 125], dup.Select(d => d.ExitCode).Order());
        Assert.Contains("is already in use", dup.Single(d => d.ExitCode == 125).Stderr);
        Assert.Equal(50, (await b.Skiff(["ps", "-q"])).StdoutLines.Count(l => l.Length > 0));

        var removals = Enumerable.Range(0, 50).Select(i => b.Skiff(["rm", "-f", $"p{i}"], timeout: TimeSpan.FromSeconds(120)));
        foreach (var r in await Task.WhenAll(removals))
        {
            r.AssertExit(0);
        }
        (await b.Skiff(["rm", "dup"])).AssertExit(0);
        Assert.Equal("", (await b.Skiff(["ps", "-aq"])).Stdout);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(b.Box.StorageRoot, "names")));
    }

    [Theory, BothModes]
    public async Task Bad_input_gets_dockers_message_and_leaves_nothing(Mode mode)
    {
        await using var b = await ImageBox.CreateAsync(install, mode);
        await b.StartAsync("taken", [], "sleep", "600");

        var inUse = await b.Skiff(["run", "-d", "--name", "taken", "busybox", "true"]);
        Assert.Equal(125, inUse.ExitCode);
        Assert.Contains("The container name \"/taken\" is already in use", inUse.Stderr);

        var noImage = await b.Skiff(["run", "--rm", "--pull", "never", "no-such-image", "true"]);
        Assert.Equal(125, noImage.ExitCode);
        Assert.Contains("No such image", noImage.Stderr);

        var badMemory = await b.Skiff(["run", "--rm", "--memory", "lots", "busybox", "true"]);
        Assert.Equal(125, badMemory.ExitCode);
        Assert.Contains("invalid size: 'lots'", badMemory.Stderr);

        var missingBind = await b.Skiff(["run", "--rm", "--mount", $"type=bind,source={b.Box.Dir}/nope,target=/x", "busybox", "true"]);
        Assert.Equal(125, missingBind.ExitCode);
        Assert.Contains("bind source path does not exist", missingBind.Stderr);

        var running = await b.Skiff(["rm", "taken"]);
        Assert.Equal(1, running.ExitCode);
        Assert.Contains("container is running", running.Stderr);

        Assert.Equal(1, (await b.Skiff(["stop", "nope"])).ExitCode);
        Assert.Equal(["taken"], (await b.Skiff(["ps", "-a", "--format", "{{.Names}}"])).StdoutLines.Where(l => l.Length > 0));
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
