using System.Text.Json.Nodes;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Containers;

/// <summary>ps, inspect, logs, wait, rename and container prune against real detached containers.</summary>
[Collection(SkiffCollection.Name)]
public sealed class ListingTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task Logs_follow_streams_each_stream_and_ends_when_the_container_exits(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sh", "-c", "echo one; echo two >&2; sleep 1; echo three; exit 3");

        var logs = (await c.Skiff(["logs", "-f", c.Name])).AssertExit(0);

        Assert.Equal("one\nthree\n", logs.Stdout);
        Assert.Equal("two\n", logs.Stderr);
        Assert.Equal("3\n", (await c.Skiff(["wait", c.Name])).AssertExit(0).Stdout);
        var ps = (await c.Skiff(["ps", "-a", "--format", "{{.Names}}|{{.State}}|{{.Status}}"])).AssertExit(0);
        Assert.Matches($"^{c.Name}\\|exited\\|Exited \\(3\\) (Less than a second|[0-9]+ seconds?) ago\n$", ps.Stdout);
        Assert.Equal($"exited 3 /{c.Name}\n", (await c.Skiff(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.Name}}", c.Name])).AssertExit(0).Stdout);
        var tail = (await c.Skiff(["logs", "--tail", "1", "-t", c.Name])).AssertExit(0);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n$", tail.Stdout);
        Assert.Equal("", tail.Stderr);
    }

    [Theory, BothModes]
    public async Task Ps_and_inspect_tell_the_truth_about_a_running_container(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sleep", "600");

        var ps = (await c.Skiff(["ps"])).AssertExit(0);
        Assert.Equal(2, ps.StdoutLines.Count);
        Assert.Matches(@"^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$", ps.StdoutLines[0]);
        Assert.Matches($"^{c.Id[..12]}   busybox   \"sleep 600\" .* Up .*{c.Name}$", ps.StdoutLines[1]);
        Assert.Equal(c.Id[..12] + "\n", (await c.Skiff(["ps", "-q"])).AssertExit(0).Stdout);

        var inspect = JsonNode.Parse((await c.Skiff(["inspect", c.Name])).AssertExit(0).Stdout)!.AsArray();
        var o = Assert.Single(inspect)!.AsObject();
        Assert.Equal(c.Id, (string)o["Id"]!);
        Assert.Equal("/" + c.Name, (string)o["Name"]!);
        Assert.NotNull(o["Config"]);
        Assert.True((bool)o["State"]!["Running"]!);
        int pid = (int)o["State"]!["Pid"]!;
        Assert.Equal("sleep 600", File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim());

        var missing = (await c.Skiff(["inspect", "nope"])).AssertExit(1);
        Assert.Equal("[]\n", missing.Stdout);
        Assert.Equal("Error: No such object: nope\n", missing.Stderr);
        Assert.Equal("Error response from daemon: No such container: nope\n", (await c.Skiff(["logs", "nope"])).AssertExit(1).Stderr);
    }

    [Theory, BothModes]
    public async Task Logs_follow_reads_on_through_rotations(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "true");
        string name = "spam-" + c.Name;
        (await c.Skiff(["run", "-d", "--name", name, "--log-opt", "max-size=2k", "--log-opt", "max-file=3", "busybox", "sh", "-c",
            "i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); usleep 1000; done"])).AssertExit(0);

        var logs = (await c.Skiff(["logs", "-f", name])).AssertExit(0);

        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"line {i}"), logs.StdoutLines);
        // What is left on disk is only the last three files' worth.
        Assert.True((await c.Skiff(["logs", name])).AssertExit(0).StdoutLines.Count < 300);
        (await c.Skiff(["rm", name])).AssertExit(0);
    }

    [Theory, BothModes]
    public async Task Rename_then_prune_takes_the_stopped_and_keeps_the_running(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sleep", "600");
        var done = (await c.Skiff(["run", "-d", "--name", "done-" + c.Name, "busybox", "true"])).AssertExit(0).Stdout.Trim();
        (await c.Skiff(["wait", "done-" + c.Name])).AssertExit(0);

        (await c.Skiff(["rename", "done-" + c.Name, "renamed-" + c.Name])).AssertExit(0);
        var conflict = (await c.Skiff(["rename", "renamed-" + c.Name, c.Name])).AssertExit(1);
        Assert.StartsWith("Error response from daemon: Error when allocating new name: Conflict.", conflict.Stderr);
        var prune = (await c.Skiff(["container", "prune", "-f"])).AssertExit(0);

        Assert.Matches($"^Deleted Containers:\n{done}\n\nTotal reclaimed space: [0-9.]+k?B\n$", prune.Stdout);
        Assert.Equal(c.Name + "\n", (await c.Skiff(["container", "ls", "-a", "--format", "{{.Names}}"])).AssertExit(0).Stdout);
    }
}
