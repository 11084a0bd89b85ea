using System.Text.Json;
using Skiff.IntegrationTests.Images;
using Skiff.IntegrationTests.Support;
using Xunit.Abstractions;

namespace Skiff.IntegrationTests.Api;

/// <summary>
/// The real docker CLI running containers through `skiff serve`: run (attached, piped,
/// detached), ps, logs, exec, stop, inspect, rm, cp, volumes, events, and containers that
/// outlive the daemon.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed class DockerContainerTests(SkiffInstall install, ITestOutputHelper output)
{
    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Run_rm_prints_the_output_passes_the_exit_code_and_leaves_nothing()
    {
        using var box = install.NewSandbox(Mode.Root);
        await DockerSandbox.ImportBusybox(box, "bb:run");
        await using var daemon = await SkiffDaemon.StartAsync(box);

        var hi = await daemon.Docker("run", "--rm", "bb:run", "echo", "hi");
        var three = await daemon.Docker("run", "--rm", "bb:run", "sh", "-c", "echo to stderr >&2; exit 3");
        var missing = await daemon.Docker("run", "--rm", "bb:run", "no-such-command");

        Assert.Equal("hi\n", hi.AssertExit(0).Stdout);
        Assert.Equal(3, three.ExitCode);
        Assert.Equal("", three.Stdout);
        Assert.Equal("to stderr\n", three.Stderr);
        // The docker CLI turns "executable file not found" into 127, as with dockerd.
        Assert.Equal(127, missing.ExitCode);
        Assert.Contains("executable file not found", missing.Stderr);
        Assert.Equal("", (await daemon.Docker("ps", "-aq")).AssertExit(0).Stdout);
        // The --rm removal (renamed aside first, which ends the wait) finishes its delete just after;
        // then only the store's short-lived tombstones (".removed-ID", for late waiters) remain.
        string[] Left() => Directory.GetFileSystemEntries(box.ContainersDir).Where(e => !Path.GetFileName(e).StartsWith(".removed-")).ToArray();
        for (int i = 0; i < 100 && Left().Length > 0; i++)
        {
            await Task.Delay(50);
        }
        Assert.Empty(Left());
    }

    [Fact]
    public async Task Many_clients_at_once_each_get_their_own_output_and_exit_code()
    {
        using var box = install.NewSandbox(Mode.Root);
        await DockerSandbox.ImportBusybox(box, "bb:many");
        await using var daemon = await SkiffDaemon.StartAsync(box);

        // Short-lived containers race their own start: an attach must be in place before the 101 goes out.
        var runs = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            daemon.Docker("run", "--rm", "--network", "none", "bb:many", "sh", "-c", $"echo run {i}; exit {i}")));

        for (int i = 0; i < runs.Length; i++)
        {
            Assert.Equal(i, runs[i].ExitCode);
            Assert.Equal($"run {i}\n", runs[i].Stdout);
        }
        Assert.Equal("", (await daemon.Docker("ps", "-aq")).AssertExit(0).Stdout);
    }

    [Fact]
    public async Task Run_pulls_a_missing_image_after_the_404_and_creates_again()
    {
        using var box = install.NewSandbox(Mode.Root);
        await using var registry = await RegistryServer.StartAsync();
        string name = $"{registry.Host}/{Unique("pull")}/bb:v1";
        await DockerSandbox.ImportBusybox(box, name);
        (await box.Skiff(["push", name])).AssertExit(0);
        (await box.Skiff(["rmi", name])).AssertExit(0);
        await using var daemon = await SkiffDaemon.StartAsync(box);

        var run = await daemon.Docker("run", "--rm", name, "echo", "pulled and ran");

        Assert.Equal("pulled and ran\n", run.AssertExit(0).Stdout);
        Assert.Contains($"Unable to find image '{name}' locally", run.Stderr);
        Assert.Single((await daemon.Docker("images", "-q")).AssertExit(0).StdoutLines);
    }

    [Fact]
    public async Task Stdin_piped_into_run_i_arrives_even_though_it_is_sent_before_the_start()
    {
        using var box = install.NewSandbox(Mode.Root);
        await DockerSandbox.ImportBusybox(box, "bb:in");
        await using var daemon = await SkiffDaemon.StartAsync(box);

        var cat = await daemon.DockerWith("a\nb\n", "run", "-i", "--rm", "bb:in", "cat");
        var count = await daemon.DockerWith(string.Concat(Enumerable.Repeat("0123456789abcdef", 64 * 1024)), "run", "-i", "--rm", "bb:in", "wc", "-c");

        Assert.Equal("a\nb\n", cat.AssertExit(0).Stdout);
        Assert.Equal(1024 * 1024, int.Parse(count.AssertExit(0).Stdout.Trim()));
    }

    [Fact]
    public async Task Detached_container_through_ps_exec_inspect_stop_and_rm()
    {
        using var box = install.NewSandbox(Mode.Root);
        string imageId = await DockerSandbox.ImportBusybox(box, "bb:det");
        await using var daemon = await SkiffDaemon.StartAsync(box);
        string name = Unique("web");
        try
        {
            string id = (await daemon.Docker("run", "-d", "--name", name, "-e", "GREETING=hello", "bb:det", "sleep", "100")).AssertExit(0).Stdout.Trim();
            Assert.Matches("^[0-9a-f]{64}$", id);

            var ps = (await daemon.Docker("ps", "--format", "{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.Status}}")).AssertExit(0);
            Assert.Matches($@"^{id[..12]} {name} bb:det ""sleep 100"" Up ", ps.Stdout);

            var seven = await daemon.Docker("exec", name, "sh", "-c", "exit 7");
            Assert.Equal(7, seven.ExitCode);
            var env = (await daemon.Docker("exec", "-e", "EXTRA=1", "-w", "/tmp", name, "sh", "-c", "echo $GREETING $EXTRA $(pwd); echo oops >&2")).AssertExit(0);
            Assert.Equal("hello 1 /tmp\n", env.Stdout);
            Assert.Equal("oops\n", env.Stderr);
            var piped = (await daemon.DockerWith("line one\nline two\n", "exec", "-i", name, "cat")).AssertExit(0);
            Assert.Equal("line one\nline two\n", piped.Stdout);
            var user = (await daemon.Docker("exec", "-u", "nobody", name, "id", "-un")).AssertExit(0);
            Assert.Equal("nobody\n", user.Stdout);

            var top = (await daemon.Docker("top", name)).AssertExit(0);
            Assert.Contains("sleep 100", top.Stdout);
            var stats = (await daemon.Docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", name)).AssertExit(0);
            Assert.Equal($"{name} 1\n", stats.Stdout);

            var inspect = (await daemon.Docker("inspect", name)).AssertExit(0);
            using (var doc = JsonDocument.Parse(inspect.Stdout))
            {
                var c = doc.RootElement[0];
                Assert.Equal(id, c.GetProperty("Id").GetString());
                Assert.Equal(imageId, c.GetProperty("Image").GetString());
                Assert.True(c.GetProperty("State").GetProperty("Running").GetBoolean());
                Assert.True(c.GetProperty("State").GetProperty("Pid").GetInt32() > 0);
                Assert.Equal(["sleep", "100"], c.GetProperty("Config").GetProperty("Cmd").EnumerateArray().Select(e => e.GetString()));
            }

            var refused = await daemon.Docker("rm", name);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("container is running", refused.Stderr);

            (await daemon.Docker("stop", "-t", "1", name)).AssertExit(0);
            var stopped = (await daemon.Docker("ps", "-a", "--format", "{{.Names}} {{.Status}}")).AssertExit(0);
            Assert.Matches($@"^{name} Exited \(137\) ", stopped.Stdout);
            Assert.Equal("", (await daemon.Docker("ps", "-q")).AssertExit(0).Stdout);
            var late = await daemon.Docker("exec", name, "true");
            Assert.NotEqual(0, late.ExitCode);
            Assert.Contains("is not running", late.Stderr);

            (await daemon.Docker("rm", name)).AssertExit(0);
            Assert.Equal("", (await daemon.Docker("ps", "-aq")).AssertExit(0).Stdout);
            var gone = await daemon.Docker("inspect", name);
            Assert.Equal(1, gone.ExitCode);
            Assert.Contains("No such object", gone.Stderr);
        }
        finally
        {
            await DockerSandbox.RemoveAll(box);
        }
    }

    [Fact]
    public async Task Logs_follow_streams_both_streams_until_the_container_exits()
    {
        using var box = install.NewSandbox(Mode.Root);
        await DockerSandbox.ImportBusybox(box, "bb:logs");
        await using var daemon = await SkiffDaemon.StartAsync(box);
        string name = Unique("talker");
        try
        {
            (await daemon.Docker("run", "-d", "--name", name, "bb:logs", "sh", "-c",
                "echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three")).AssertExit(0);

            var follow = (await daemon.Docker("logs", "-f", name)).AssertExit(0);
            var tail = (await daemon.Docker("logs", "--tail", "1", "-t", name)).AssertExit(0);
            var wait = (await daemon.Docker("wait", name)).AssertExit(0);

            Assert.Equal("one\nthree\n", follow.Stdout);
            Assert.Equal("two\n", follow.Stderr);
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n$", tail.Stdout);
            Assert.Equal("0\n", wait.Stdout);
        }
        finally
        {
            await DockerSandbox.RemoveAll(box);
        }
    }

    [Fact]
    public async Task Cp_copies_into_and_out_of_running_and_stopped_containers()
    {
        using var box = install.NewSandbox(Mode.Root);
        await DockerSandbox.ImportBusybox(box, "bb:cp");
        await using var daemon = await SkiffDaemon.StartAsync(box);
        string name = Unique("files");
        string local = Path.Combine(box.Dir, "local");
        Directory.CreateDirectory(Path.Combine(local, "sub"));
        File.WriteAllText(Path.Combine(local, "sub", "note.txt"), "from the host\n");
        try
        {
            (await daemon.Docker("run", "-d", "--name", name, "bb:cp", "sleep", "100")).AssertExit(0);

            (await daemon.Docker("cp", local, name + ":/tmp/in")).AssertExit(0);
            Assert.Equal("from the host\n", (await daemon.Docker("exec", name, "cat", "/tmp/in/sub/note.txt")).AssertExit(0).Stdout);
            (await daemon.Docker("exec", name, "sh", "-c", "mkdir /tmp/out && echo from the container > /tmp/out/made.txt")).AssertExit(0);
            (await daemon.Docker("cp", name + ":/tmp/out", Path.Combine(box.Dir, "back"))).AssertExit(0);
            Assert.Equal("from the container\n", File.ReadAllText(Path.Combine(box.Dir, "back", "made.txt")));

            (await daemon.Docker("stop", "-t", "0", name)).AssertExit(0);
            (await daemon.Docker("cp", Path.Combine(local, "sub", "note.txt"), name + ":/root/")).AssertExit(0);
            (await daemon.Docker("cp", name + ":/root/note.txt", Path.Combine(box.Dir, "again.txt"))).AssertExit(0);
            Assert.Equal("from the host\n", File.ReadAllText(Path.Combine(box.Dir, "again.txt")));
            var missing = await daemon.Docker("cp", name + ":/no/such/file", box.Dir);
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("Could not find the file /no/such/file", missing.Stderr);
        }
        finally
        {
            await DockerSandbox.RemoveAll(box);
        }
    }

    [Fact]
    public async Task Running_containers_outlive_the_daemon_and_the_next_daemon_sees_them()
    {
        using var box = install.NewSandbox(Mode.Root);
        await DockerSandbox.ImportBusybox(box, "bb:live");
        string name = Unique("survivor");
        try
        {
            await using (var first = await SkiffDaemon.StartAsync(box))
            {
                (await first.Docker("run", "-d", "--name", name, "bb:live", "sleep", "100")).AssertExit(0);
                await first.StopAsync();
            }
            // No daemon now: the container's supervisor still has it.
            var ps = (await DockerSandbox.SkiffKeeping(box, "ps", "--format", "{{.Names}} {{.State}}")).AssertExit(0);
            Assert.Equal($"{name} running\n", ps.Stdout);

            await using var second = await SkiffDaemon.StartAsync(box);
            var seen = (await second.Docker("ps", "--format", "{{.Names}} {{.State}}")).AssertExit(0);
            Assert.Equal($"{name} running\n", seen.Stdout);
            Assert.Equal("still here\n", (await second.Docker("exec", name, "echo", "still here")).AssertExit(0).Stdout);
            (await second.Docker("rm", "-f", name)).AssertExit(0);
            Assert.Equal("", (await second.Docker("ps", "-aq")).AssertExit(0).Stdout);
        }
        finally
        {
            await DockerSandbox.RemoveAll(box);
        }
    }

    [Fact]
    public async Task Kill_restart_rename_and_wait()
    {
        using var box = install.NewSandbox(Mode.Root);
        await DockerSandbox.ImportBusybox(box, "bb:life");
        await using var daemon = await SkiffDaemon.StartAsync(box);
        string name = Unique("life"), renamed = Unique("renamed");
        try
        {
            (await daemon.Docker("run", "-d", "--name", name, "bb:life", "sh", "-c", "trap 'exit 42' HUP; while true; do sleep 0.1; done")).AssertExit(0);
            (await daemon.Docker("rename", name, renamed)).AssertExit(0);
            var waiting = daemon.Docker("wait", renamed);
            await Task.Delay(300);
            (await daemon.Docker("kill", "-s", "HUP", renamed)).AssertExit(0);
            Assert.Equal("42\n", (await waiting).AssertExit(0).Stdout);

            (await daemon.Docker("restart", "-t", "1", renamed)).AssertExit(0);
            var state = (await daemon.Docker("inspect", "--format", "{{.State.Status}} {{.Name}}", renamed)).AssertExit(0);
            Assert.Equal($"running /{renamed}\n", state.Stdout);
            (await daemon.Docker("kill", renamed)).AssertExit(0);
            Assert.Equal("137\n", (await daemon.Docker("wait", renamed)).AssertExit(0).Stdout);
            var notRunning = await daemon.Docker("kill", renamed);
            Assert.Equal(1, notRunning.ExitCode);
            Assert.Contains("is not running", notRunning.Stderr);
        }
        finally
        {
            await DockerSandbox.RemoveAll(box);
        }
    }

    [Fact]
    public async Task Volumes_keep_data_between_containers_and_events_tell_what_happened()
    {
        using var box = install.NewSandbox(Mode.Root);
        await DockerSandbox.ImportBusybox(box, "bb:vol");
        await using var daemon = await SkiffDaemon.StartAsync(box);
        long since = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;

        (await daemon.Docker("volume", "create", "keep")).AssertExit(0);
        (await daemon.Docker("run", "--rm", "--name", "writer", "-v", "keep:/data", "bb:vol", "sh", "-c", "echo kept > /data/f")).AssertExit(0);
        var read = (await daemon.Docker("run", "--rm", "-v", "keep:/data", "bb:vol", "cat", "/data/f")).AssertExit(0);
        var list = (await daemon.Docker("volume", "ls", "--format", "{{.Name}}")).AssertExit(0);
        (await daemon.Docker("volume", "rm", "keep")).AssertExit(0);
        var df = (await daemon.Docker("system", "df")).AssertExit(0);
        string until = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1).ToString();
        var events = (await daemon.Docker("events", "--since", since.ToString(), "--until", until,
            "--filter", "container=writer", "--format", "{{.Type}} {{.Action}}")).AssertExit(0);

        Assert.Equal("kept\n", read.Stdout);
        Assert.Equal("keep\n", list.Stdout);
        Assert.Contains("Local Volumes", df.Stdout);
        Assert.Equal(["container create", "container attach", "container start", "container destroy"],
            events.StdoutLines.Where(l => !l.Contains("die")).ToList());
        output.WriteLine(events.Stdout);
    }

    [Fact]
    public async Task A_terminal_for_exec_it_and_run_it_with_the_clients_size()
    {
        using var box = install.NewSandbox(Mode.Root);
        await DockerSandbox.ImportBusybox(box, "bb:tty");
        await using var daemon = await SkiffDaemon.StartAsync(box);
        string name = Unique("term");
        try
        {
            (await daemon.Docker("run", "-d", "--name", name, "bb:tty", "sleep", "100")).AssertExit(0);
            // script(1) gives docker a terminal of the size stty sets.
            var exec = await daemon.Shell($"script -eqc \"stty rows 30 cols 100; docker exec -it {name} sh -c 'tty; stty size; exit 5'\" /dev/null </dev/null");
            var run = await daemon.Shell("script -eqc \"stty rows 20 cols 90; docker run -it --rm bb:tty sh -c 'stty size; exit 4'\" /dev/null </dev/null");

            Assert.Equal(5, exec.ExitCode);
            Assert.Contains("/dev/pts/", exec.Stdout);
            Assert.Contains("30 100", exec.Stdout);
            Assert.Equal(4, run.ExitCode);
            Assert.Contains("20 90", run.Stdout);
        }
        finally
        {
            await DockerSandbox.RemoveAll(box);
        }
    }

    [Fact]
    public async Task Rootless_daemon_runs_and_execs()
    {
        using var box = install.NewSandbox(Mode.Rootless);
        var user = HostUsers.Get(HostUsers.WithSubIds);
        string runtime = Path.Combine(box.Dir, "xdg");
        Directory.CreateDirectory(runtime);
        File.SetUnixFileMode(runtime, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Libc.Chown(runtime, user.Uid, user.Gid);
        var env = new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = runtime };
        await DockerSandbox.ImportBusybox(box, "bb:rl");
        string name = Unique("rl");
        try
        {
            await using var daemon = await SkiffDaemon.StartAsync(box, environment: env);
            var hi = (await daemon.Docker("run", "--rm", "bb:rl", "sh", "-c", "echo hi $(id -u)")).AssertExit(0);
            Assert.Equal("hi 0\n", hi.Stdout);
            (await daemon.Docker("run", "-d", "--name", name, "bb:rl", "sleep", "100")).AssertExit(0);
            Assert.Equal(6, (await daemon.Docker("exec", name, "sh", "-c", "exit 6")).ExitCode);
            (await daemon.Docker("rm", "-f", name)).AssertExit(0);
        }
        finally
        {
            await DockerSandbox.RemoveAll(box);
            string pidFile = Path.Combine(runtime, "skiff", "userns-keeper.pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim().Split(' ', '\n')[0], out int pid) && pid > 0)
            {
                try
                {
                    Libc.Kill(pid, Libc.SIGKILL);
                }
                catch (InvalidOperationException)
                {
                }
            }
        }
    }
}

/// <summary>What the docker CLI and Docker.DotNet tests share: an image, and a clean sandbox after them.</summary>
internal static class DockerSandbox
{
    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    /// <summary>busybox as an image named NAME, with sh as its command.</summary>
    internal static async Task<string> ImportBusybox(Sandbox box, string name) =>
        (await box.Skiff(["import", "-c", "CMD [\"sh\"]", await LayerTarballs.BusyboxAsync(box, Unique("bb") + ".tar"), name])).AssertExit(0).Stdout.Trim();

    /// <summary>skiff ARGS without Sandbox.Skiff's no-container-left check (these tests keep containers on purpose).</summary>
    internal static Task<ProcessResult> SkiffKeeping(Sandbox box, params string[] args) =>
        HostProcess.RunAsync(box.Argv(args), workingDirectory: box.Dir);

    /// <summary>Every container of the sandbox removed (force), so that no supervisor outlives the test.</summary>
    internal static async Task RemoveAll(Sandbox box)
    {
        var ids = await DockerSandbox.SkiffKeeping(box, "ps", "-aq", "--no-trunc");
        foreach (var id in ids.StdoutLines)
        {
            await DockerSandbox.SkiffKeeping(box, "rm", "-f", id);
        }
    }
}
