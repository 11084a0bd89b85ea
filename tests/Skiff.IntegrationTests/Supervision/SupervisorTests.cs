using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Supervision;

/// <summary>
/// The container supervisor (native/supervisor.c) as out/skiff runs it under the name
/// skiff-supervisor, with host programs as containers (--direct): the ready line, the
/// json-file log, state.json, restarts, attach.sock, stop, and what is left behind.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed partial class SupervisorTests(SkiffInstall install)
{
    private static readonly string[] Direct = ["--direct"];

    /// <summary>The real uid of a process as the host sees it.</summary>
    private static string HostUid(int pid) =>
        File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:")).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")]
    private static partial Regex TimeFormat();

    private static DateTime Time(string text) =>
        DateTime.Parse(text[..^3] + "Z", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);

    [Fact]
    public async Task The_ready_line_the_log_and_the_exit_are_recorded()
    {
        using var c = new SupervisedContainer(install);
        var before = DateTime.UtcNow;

        int pid = await c.StartOkAsync(Direct, c.Sh("echo out; echo err >&2; exit 3"));
        var state = await c.WaitForFinalAsync();

        Assert.True(pid > 0);
        Assert.Equal("exited", state.GetProperty("Status").GetString());
        Assert.Equal(3, state.GetProperty("ExitCode").GetInt32());
        Assert.Equal(0, state.GetProperty("Pid").GetInt32());
        Assert.Equal(0, state.GetProperty("RestartCount").GetInt32());
        Assert.Equal("", state.GetProperty("Error").GetString());
        string started = state.GetProperty("StartedAt").GetString()!, finished = state.GetProperty("FinishedAt").GetString()!;
        Assert.Matches(TimeFormat(), started);
        Assert.Matches(TimeFormat(), finished);
        Assert.InRange(Time(started), before.AddSeconds(-1), Time(finished));
        var log = c.LogEntries();
        Assert.Equal([("out\n", "stdout"), ("err\n", "stderr")], log.Select(e => (e.Log, e.Stream)));
        Assert.All(log, e => Assert.Matches(TimeFormat(), e.Time));
        Assert.False(File.Exists(Path.Combine(c.Dir, "attach.sock")));
        await c.AssertNoProcessLeftAsync();
    }

    [Fact]
    public async Task The_log_escapes_as_docker_does_and_splits_long_lines()
    {
        using var c = new SupervisedContainer(install);
        string script = "printf 'q\"b\\\\t\\tlt<gt>amp& \\001 \\377 \\342\\200\\250 é\\r\\n'; "
            + "head -c 20000 /dev/zero | tr '\\0' x; echo; printf 'no newline'";

        await c.StartOkAsync(Direct, c.Sh(script));
        await c.WaitForFinalAsync();

        string raw = File.ReadAllLines(c.LogFile)[0];
        Assert.StartsWith("{\"log\":\"q\\\"b\\\\t\\tlt\\u003cgt\\u003eamp\\u0026 \\u0001 \\ufffd \\u2028 é\\r\\n\",\"stream\":\"stdout\",\"time\":\"", raw);
        var log = c.LogEntries();
        Assert.Equal(4, log.Count);
        Assert.Equal(new string('x', 16384), log[1].Log); // a partial entry at 16 KiB, as Docker's
        Assert.Equal(new string('x', 20000 - 16384) + "\n", log[2].Log);
        Assert.Equal("no newline", log[3].Log); // the rest at EOF
    }

    [Fact]
    public async Task The_log_rotates_at_max_size_keeping_max_file_files()
    {
        using var c = new SupervisedContainer(install);

        await c.StartOkAsync(["--direct", "--log-max-size", "400", "--log-max-file", "3"],
            c.Sh("i=0; while [ $i -lt 40 ]; do echo line$i; i=$((i+1)); done"));
        await c.WaitForFinalAsync();

        string[] files = [c.LogFile + ".2", c.LogFile + ".1", c.LogFile];
        Assert.All(files, f => Assert.InRange(new FileInfo(f).Length, 1, 400));
        Assert.False(File.Exists(c.LogFile + ".3"));
        var kept = files.SelectMany(f => c.LogEntries(f)).Select(e => e.Log.TrimEnd('\n')).ToList();
        int first = int.Parse(kept[0]["line".Length..]);
        Assert.Equal(Enumerable.Range(first, 40 - first).Select(i => $"line{i}"), kept);
        Assert.True(first > 0, "nothing was rotated away");
    }

    [Fact]
    public async Task With_one_file_the_log_is_truncated_in_place()
    {
        using var c = new SupervisedContainer(install);

        await c.StartOkAsync(["--direct", "--log-max-size", "300"],
            c.Sh("i=0; while [ $i -lt 40 ]; do echo line$i; i=$((i+1)); done"));
        await c.WaitForFinalAsync();

        Assert.InRange(new FileInfo(c.LogFile).Length, 1, 300);
        Assert.False(File.Exists(c.LogFile + ".1"));
        Assert.Equal("line39\n", c.LogEntries()[^1].Log);
    }

    [Fact]
    public async Task Log_driver_none_writes_nothing()
    {
        using var c = new SupervisedContainer(install);

        await c.StartOkAsync(["--direct", "--log-driver", "none"], c.Sh("echo out"));
        await c.WaitForFinalAsync();

        Assert.False(File.Exists(c.LogFile));
    }

    [Fact]
    public async Task On_failure_restarts_up_to_max_retries()
    {
        using var c = new SupervisedContainer(install);

        await c.StartOkAsync(["--direct", "--restart", "on-failure", "--max-retries", "2"], c.Sh("echo run; exit 1"));
        var state = await c.WaitForFinalAsync();

        Assert.Equal(2, state.GetProperty("RestartCount").GetInt32());
        Assert.Equal(1, state.GetProperty("ExitCode").GetInt32());
        Assert.Equal(3, c.LogEntries().Count(e => e.Log == "run\n"));
        await c.AssertNoProcessLeftAsync();
    }

    [Fact]
    public async Task On_failure_does_not_restart_a_success()
    {
        using var c = new SupervisedContainer(install);

        await c.StartOkAsync(["--direct", "--restart", "on-failure"], c.Sh("exit 0"));
        var state = await c.WaitForFinalAsync();

        Assert.Equal(0, state.GetProperty("RestartCount").GetInt32());
    }

    [Fact]
    public async Task Always_restarts_until_a_stop_request_which_it_obeys()
    {
        using var c = new SupervisedContainer(install);
        await c.StartOkAsync(["--direct", "--restart", "always"], c.Sh("echo run; exit 0"));
        await c.WaitForStateAsync(s => s.GetProperty("RestartCount").GetInt32() >= 2, "two restarts");

        using (var socket = c.Connect())
        {
            SupervisedContainer.Send(socket, 'S', 15, 5);
            Assert.Empty(await SupervisedContainer.ReadToEndAsync(socket));
        }

        var state = await c.WaitForFinalAsync();
        Assert.Equal("exited", state.GetProperty("Status").GetString());
        int restarts = state.GetProperty("RestartCount").GetInt32();
        await Task.Delay(300);
        Assert.Equal(restarts, c.State().GetProperty("RestartCount").GetInt32());
        await c.AssertNoProcessLeftAsync();
    }

    [Fact]
    public async Task A_stop_request_for_a_running_always_container_does_not_restart_it()
    {
        using var c = new SupervisedContainer(install);
        await c.StartOkAsync(["--direct", "--restart", "always"], c.Sh("echo run; exec sleep 100"));

        using (var socket = c.Connect())
        {
            SupervisedContainer.Send(socket, 'S', 15, 5);
            await SupervisedContainer.ReadToEndAsync(socket);
        }

        var state = c.State(); // written before the connection closed
        Assert.Equal("exited", state.GetProperty("Status").GetString());
        Assert.Equal(143, state.GetProperty("ExitCode").GetInt32());
        Assert.Equal(0, state.GetProperty("RestartCount").GetInt32());
        await c.WaitForFinalAsync();
        Assert.Single(c.LogEntries());
        await c.AssertNoProcessLeftAsync();
    }

    [Fact]
    public async Task Attach_receives_both_streams_in_frames_and_the_exit_code()
    {
        using var c = new SupervisedContainer(install);
        await c.StartOkAsync(["--direct", "--stdin"], c.Sh("read go; echo out; echo err >&2; exit 5"));

        using var socket = c.Connect();
        socket.Send([(byte)'A', 7, .. "go\n"u8]); // the container writes once we are attached

        var frames = SupervisedContainer.ParseFrames(await SupervisedContainer.ReadToEndAsync(socket));
        Assert.Equal([(1, "out\n"), (2, "err\n"), (3, "exit 5")], frames.Select(f => (f.Stream, f.Text)));
    }

    [Fact]
    public async Task Stdin_sent_through_attach_reaches_cat()
    {
        using var c = new SupervisedContainer(install);
        await c.StartOkAsync(["--direct", "--stdin", "--stdin-once"], c.Sh("cat; echo cat done"));

        using var socket = c.Connect();
        socket.Send([(byte)'A', 7, .. "ping\n"u8]);
        socket.Shutdown(SocketShutdown.Send); // EOF for the container: --stdin-once

        var frames = SupervisedContainer.ParseFrames(await SupervisedContainer.ReadToEndAsync(socket));
        Assert.Equal("ping\ncat done\n", string.Concat(frames.Where(f => f.Stream == 1).Select(f => f.Text)));
        Assert.Equal("exit 0", frames[^1].Text);
        Assert.Equal(3, frames[^1].Stream);
    }

    [Fact]
    public async Task A_stop_escalates_to_sigkill_after_the_timeout()
    {
        using var c = new SupervisedContainer(install);
        await c.StartOkAsync(Direct, c.Sh("trap '' TERM; echo up; while :; do sleep 1; done"));
        await c.WaitForStateAsync(_ => File.Exists(c.LogFile) && new FileInfo(c.LogFile).Length > 0, "the trap set");

        var clock = Stopwatch.StartNew();
        using (var socket = c.Connect())
        {
            SupervisedContainer.Send(socket, 'S', 15, 1);
            await SupervisedContainer.ReadToEndAsync(socket);
        }

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(2.5));
        Assert.Equal(137, c.State().GetProperty("ExitCode").GetInt32());
        await c.AssertNoProcessLeftAsync(); // the sleep the shell had running too
    }

    [Fact]
    public async Task Kill_sends_a_signal_and_answers()
    {
        using var c = new SupervisedContainer(install);
        await c.StartOkAsync(Direct, c.Sh("trap 'exit 42' USR1; echo up; while :; do sleep 0.05; done"));
        await c.WaitForStateAsync(_ => File.Exists(c.LogFile) && new FileInfo(c.LogFile).Length > 0, "the trap set");

        using (var socket = c.Connect())
        {
            SupervisedContainer.Send(socket, 'K', 10);
            Assert.Equal([0], await SupervisedContainer.ReadToEndAsync(socket));
        }

        Assert.Equal(42, (await c.WaitForFinalAsync()).GetProperty("ExitCode").GetInt32());
    }

    [Fact]
    public async Task A_missing_command_is_an_error_line_and_a_created_state()
    {
        using var c = new SupervisedContainer(install);

        var result = (await c.StartAsync(Direct, ["no-such-command", c.Marker])).AssertExit(0);

        Assert.Equal("error 127 exec: \"no-such-command\": executable file not found in $PATH\n", result.Stdout);
        var state = await c.WaitForFinalAsync();
        Assert.Equal("created", state.GetProperty("Status").GetString());
        Assert.Equal(127, state.GetProperty("ExitCode").GetInt32());
    }

    [Fact]
    public async Task A_bad_option_is_refused_before_anything_starts()
    {
        using var c = new SupervisedContainer(install);

        var result = await c.StartAsync(["--restart", "sometimes"], c.Sh("true"));

        result.AssertExit(125);
        Assert.Equal("error 125 invalid restart policy \"sometimes\"\n", result.Stdout);
        Assert.False(File.Exists(Path.Combine(c.Dir, "state.json")));
    }

    [Fact]
    public async Task Killing_the_supervisor_leaves_a_running_state_whose_supervisor_is_dead()
    {
        using var c = new SupervisedContainer(install);
        int pid = await c.StartOkAsync(Direct, c.Sh("exec sleep 100"));
        var running = c.State();
        int supervisor = running.GetProperty("SupervisorPid").GetInt32();
        ulong start = running.GetProperty("SupervisorStart").GetUInt64();
        Assert.True(SupervisedContainer.IsAlive(supervisor, start));
        Assert.Equal(pid, running.GetProperty("Pid").GetInt32());

        Libc.Kill(supervisor, Libc.SIGKILL);
        await c.AssertNoProcessLeftAsync(); // the container goes with it (SIGKILL as the parent dies)

        var state = c.State();
        Assert.Equal("running", state.GetProperty("Status").GetString());
        Assert.False(SupervisedContainer.IsAlive(supervisor, start));
        Assert.True(File.Exists(Path.Combine(c.Dir, "attach.sock"))); // stale: nobody listens
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var e = Assert.Throws<SocketException>(() => socket.Connect(new UnixDomainSocketEndPoint(Path.Combine(c.Dir, "attach.sock"))));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    [Fact]
    public async Task The_state_request_answers_with_the_state_json()
    {
        using var c = new SupervisedContainer(install);
        int pid = await c.StartOkAsync(Direct, c.Sh("exec sleep 100"));

        using (var socket = c.Connect())
        {
            socket.Send("P"u8);
            string text = System.Text.Encoding.UTF8.GetString(await SupervisedContainer.ReadToEndAsync(socket));
            Assert.Contains($"\"Status\":\"running\",\"Pid\":{pid},", text);
        }

        using (var socket = c.Connect())
        {
            SupervisedContainer.Send(socket, 'S', 9, -1);
            await SupervisedContainer.ReadToEndAsync(socket);
        }
        Assert.Equal(137, c.State().GetProperty("ExitCode").GetInt32());
    }

    [Fact]
    public async Task A_slow_reader_never_holds_the_container_back()
    {
        using var c = new SupervisedContainer(install);
        await c.StartOkAsync(["--direct", "--stdin"], c.Sh("read go; head -c 4000000 /dev/zero | tr '\\0' a; echo; echo end"));

        // Attached, and never reading: the supervisor drops us past its backlog limit.
        using var lazy = c.Connect();
        lazy.ReceiveBufferSize = 4096;
        lazy.Send([(byte)'A', 3, .. "go\n"u8]);

        var state = await c.WaitForFinalAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, state.GetProperty("ExitCode").GetInt32());
        Assert.Equal("end\n", c.LogEntries()[^1].Log);
    }

    [Fact]
    public async Task The_supervisor_stays_small()
    {
        using var c = new SupervisedContainer(install);
        await c.StartOkAsync(Direct, c.Sh("echo up; exec sleep 100"));
        int supervisor = c.State().GetProperty("SupervisorPid").GetInt32();
        using (var socket = c.Connect())
        {
            socket.Send([(byte)'A', 6]); // an attached client costs nothing up front either
            await Task.Delay(100);

            long rss = long.Parse(File.ReadLines($"/proc/{supervisor}/status").First(l => l.StartsWith("VmRSS:"))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
            Assert.True(rss <= 2048, $"the supervisor's RSS is {rss} KiB, over the 2 MiB it should take");
        }

        using var stop = c.Connect();
        SupervisedContainer.Send(stop, 'S', 9, 0);
        await SupervisedContainer.ReadToEndAsync(stop);
    }

    [Fact]
    public async Task Rootless_the_supervisor_runs_and_stops_as_the_user()
    {
        using var c = new SupervisedContainer(install, Mode.Rootless);
        var user = HostUsers.Get(HostUsers.WithSubIds);

        int pid = await c.StartOkAsync(Direct, c.Sh("echo up; exec sleep 100"));
        // Whether or not it joined the user's keeper namespace, on the host it is the user.
        Assert.Equal(user.Uid.ToString(CultureInfo.InvariantCulture), HostUid(pid));
        Assert.Equal(user.Uid.ToString(CultureInfo.InvariantCulture), HostUid(c.State().GetProperty("SupervisorPid").GetInt32()));
        using (var socket = c.Connect())
        {
            SupervisedContainer.Send(socket, 'S', 15, 5);
            await SupervisedContainer.ReadToEndAsync(socket);
        }

        var state = await c.WaitForFinalAsync();
        Assert.Equal(143, state.GetProperty("ExitCode").GetInt32());
        Assert.Equal("up\n", c.LogEntries()[0].Log);
        var owners = await HostProcess.RunAsync(["stat", "-c", "%u", Path.Combine(c.Dir, "state.json"), c.LogFile]);
        Assert.Equal([$"{user.Uid}", $"{user.Uid}"], owners.AssertExit(0).StdoutLines);
        await c.AssertNoProcessLeftAsync();
    }
}
