using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests;

/// <summary>What reaches the container from outside: standard input, a terminal, signals.</summary>
[Collection(SkiffCollection.Name)]
public sealed class RunInputTests(SkiffInstall install)
{
    public static TheoryData<Mode, string, int> ForwardedSignals()
    {
        var data = new TheoryData<Mode, string, int>();
        foreach (var mode in new[] { Mode.Root, Mode.Rootless })
        {
            data.Add(mode, "TERM", Libc.SIGTERM);
            data.Add(mode, "INT", Libc.SIGINT);
            data.Add(mode, "HUP", Libc.SIGHUP);
            data.Add(mode, "QUIT", Libc.SIGQUIT);
        }

        return data;
    }

    [Theory, BothModes]
    public async Task Interactive_passes_stdin_through(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.Skiff(box.RunArgs(["-i"], "cat"), stdin: "hi\n")).AssertExit(0);

        Assert.Equal("hi\n", result.Stdout);
    }

    [Theory, BothModes]
    public async Task Interactive_streams_large_input_to_the_end(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string input = string.Concat(Enumerable.Repeat("0123456789abcdef\n", 20_000)); // 340,000 bytes

        var result = (await box.Skiff(box.RunArgs(["-i"], "sh", "-c", "wc -c; echo done"), stdin: input)).AssertExit(0);

        Assert.Equal(["340000", "done"], result.StdoutLines.Select(l => l.Trim()));
    }

    [Theory, BothModes]
    public async Task Interactive_run_ends_with_the_container_not_with_stdin(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        using var started = box.StartSkiff(box.RunArgs(["-i"], "sh", "-c", "echo ready; exit 4"), keepStdinOpen: true);

        // skiff's stdin stays open: a run that waited for its end would time out here.
        var result = await started.WaitForExitAsync(TimeSpan.FromSeconds(10));

        result.AssertExit(4);
        Assert.Equal("ready\n", result.Stdout);
        box.AssertNothingLeftBehind(result);
    }

    [Theory, BothModes]
    public async Task Without_interactive_stdin_is_dev_null(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.Skiff(box.RunArgs([], "sh", "-c", "cat; readlink /proc/self/fd/0"), stdin: "hi\n")).AssertExit(0);

        Assert.Equal("/dev/null\n", result.Stdout);
    }

    [Theory, BothModes]
    public async Task Tty_gives_the_container_a_pseudo_terminal(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.SkiffInTerminal(box.RunArgs(["-t"], "sh", "-c", "tty; echo TERM=$TERM"))).AssertExit(0);

        var lines = result.Stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Contains("/dev/pts/0", lines);
        Assert.Contains("TERM=xterm", lines);
    }

    [Theory, BothModes]
    public async Task Tty_keeps_the_exit_code(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        (await box.SkiffInTerminal(box.RunArgs(["-t"], "sh", "-c", "exit 3"))).AssertExit(3);
    }

    [Theory, BothModes]
    public async Task Without_tty_the_container_has_no_terminal_even_when_skiff_has(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = await box.SkiffInTerminal(box.RunArgs([], "tty"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not a tty", result.Stdout);
    }

    [Theory, MemberData(nameof(ForwardedSignals))]
    public async Task Signal_to_skiff_reaches_the_container(Mode mode, string name, int signal)
    {
        using var box = install.NewSandbox(mode);
        using var started = box.StartSkiff(box.RunArgs([], "sh", "-c", $"trap 'exit 42' {name}; echo ready; while :; do sleep 0.1; done"));
        await started.WaitForLineAsync("ready");

        Libc.Kill((await box.FindSkiffAsync(started)).Pid, signal);
        var result = await started.WaitForExitAsync();

        result.AssertExit(42);
        box.AssertNothingLeftBehind(result);
    }

    [Theory, BothModes]
    public async Task Container_killed_by_a_signal_exits_128_plus_it(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        using var started = box.StartSkiff(box.RunArgs([], "sleep", "4242"));
        int skiffPid = (await box.FindSkiffAsync(started)).Pid;
        var sleep = await ProcTable.WaitForAsync(
            "sleep 4242 under skiff", p => p.ParentPid == skiffPid && p.Argv.SequenceEqual(["sleep", "4242"]));

        Libc.Kill(sleep.Pid, Libc.SIGKILL);
        var result = await started.WaitForExitAsync();

        result.AssertExit(137);
        box.AssertNothingLeftBehind(result);
    }
}
