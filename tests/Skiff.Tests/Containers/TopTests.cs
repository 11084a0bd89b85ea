using System.Diagnostics;
using Skiff.Engine.Containers;

namespace Skiff.Tests.Containers;

/// <summary>docker top against a real process tree in its own pid namespace standing in for a container.</summary>
public sealed class TopTests : IDisposable
{
    private readonly TestContainer _c = TestContainer.Create("topper");

    public void Dispose() => _c.Dispose();

    /// <summary>sh as the container's init with two sleeps under it, in a new pid namespace; returns sh's host pid.</summary>
    private int StartContainer()
    {
        int unshare = _c.Run("unshare", "--pid", "--fork", "--mount-proc", "/bin/sh", "-c", "sleep 1001 & sleep 1002; wait");
        int init = TestContainer.ChildOf(unshare);
        TestContainer.WaitForChildren(init, 2);
        _c.MarkRunning(init);
        return init;
    }

    [Fact]
    public void Lists_every_process_of_the_containers_pid_namespace_as_ps_ef_shows_it()
    {
        int init = StartContainer();
        var top = ContainerTop.List(_c.Store, _c.Name);

        Assert.Equal(["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], top.Titles);
        Assert.Equal(3, top.Processes.Count);
        Assert.Equal(["/bin/sh -c sleep 1001 & sleep 1002; wait", "sleep 1001", "sleep 1002"], top.Processes.Select(p => p[7]).Order());
        Assert.Contains(top.Processes, p => p[1] == init.ToString() && p[7].StartsWith("/bin/sh", StringComparison.Ordinal));
        // Not the unshare that started it: that one lives in the host's pid namespace.
        Assert.DoesNotContain(top.Processes, p => p[7].StartsWith("unshare", StringComparison.Ordinal));

        // The same cells procps's ps -ef prints for those pids (what dockerd's own ps call gives).
        string ps = Run("ps", "-ef", "-q", string.Join(',', top.Processes.Select(p => p[1])));
        var expected = ContainerTop.ParsePsOutput(ps, top.Processes.Select(p => int.Parse(p[1])).ToList());
        Assert.Equal(expected.Titles, top.Titles);
        Assert.Equal(expected.Processes, top.Processes);
    }

    [Fact]
    public void Other_ps_options_run_the_hosts_ps_and_keep_the_containers_rows()
    {
        int init = StartContainer();
        var top = ContainerTop.List(_c.Store, _c.Name, "-o pid,comm");
        Assert.Equal(["PID", "COMMAND"], top.Titles);
        Assert.Equal(3, top.Processes.Count);
        Assert.Contains(top.Processes, p => p[0] == init.ToString() && p[1] == "sh");

        var aux = ContainerTop.List(_c.Store, _c.Name, "aux");
        Assert.Equal("USER", aux.Titles[0]);
        Assert.Equal(3, aux.Processes.Count);
        Assert.Equal(aux.Titles.Count, aux.Processes[0].Count);
    }

    [Fact]
    public void A_stopped_container_is_not_running()
    {
        var e = Assert.Throws<SkiffException>(() => ContainerTop.List(_c.Store, _c.Name));
        Assert.Equal(ErrorCategory.Conflict, e.Category);
        Assert.Equal($"container {_c.Id} is not running", e.Message);
        Assert.Equal("No such container: nope", Assert.Throws<SkiffException>(() => ContainerTop.List(_c.Store, "nope")).Message);
    }

    [Fact]
    public void A_renamed_pid_column_is_refused_as_dockerd_refuses_it()
    {
        ContainerTop.ValidatePsArgs("-o pid=PID,comm");
        Assert.Equal("specifying \"comm=PID\" is not allowed",
            Assert.Throws<SkiffException>(() => ContainerTop.ValidatePsArgs("-o comm=PID")).Message);
    }

    [Fact]
    public void Ps_output_is_cut_at_the_title_count_and_thread_lines_follow_their_process()
    {
        string output = "  PID TTY      STAT   TIME COMMAND\n" +
                        "   10 ?        Ss     0:00 /bin/sh -c long command line\n" +
                        "    - -        Ss     0:00 -\n" +
                        "   11 ?        S      0:00 other\n" +
                        "    - -        S      0:00 -\n";
        var top = ContainerTop.ParsePsOutput(output, [10]);
        Assert.Equal(["PID", "TTY", "STAT", "TIME", "COMMAND"], top.Titles);
        Assert.Equal(2, top.Processes.Count);
        Assert.Equal(["10", "?", "Ss", "0:00", "/bin/sh -c long command line"], top.Processes[0]);
        Assert.Equal("-", top.Processes[1][0]);
        Assert.Throws<SkiffException>(() => ContainerTop.ParsePsOutput("USER COMMAND\nroot x\n", [1]));
    }

    [Theory]
    [InlineData(0, "?")]
    [InlineData((136 << 8) | 3, "pts/3")]
    [InlineData((137 << 8) | 1, "pts/257")]
    [InlineData((4 << 8) | 2, "tty2")]
    [InlineData((4 << 8) | 65, "ttyS1")]
    public void Terminals_are_named_as_ps_names_them(int ttyNr, string name) => Assert.Equal(name, ContainerTop.Tty(ttyNr));

    [Fact]
    public void Cpu_time_and_long_user_names_are_written_as_procps_writes_them()
    {
        Assert.Equal("00:00:00", ContainerTop.CpuTime(0));
        Assert.Equal("01:02:03", ContainerTop.CpuTime(3723));
        Assert.Equal("2-00:00:05", ContainerTop.CpuTime(2 * 86400 + 5));
        Assert.Equal("skiff-t+", ContainerTop.UserColumn("skiff-test", 1001));
        Assert.Equal("root", ContainerTop.UserColumn("root", 0));
        Assert.Equal("100000", ContainerTop.UserColumn(null, 100000));
    }

    private static string Run(string file, params string[] args)
    {
        var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true })!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output;
    }
}
