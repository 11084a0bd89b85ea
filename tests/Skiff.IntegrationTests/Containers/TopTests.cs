using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Containers;

/// <summary>skiff top against real containers: ps -ef's columns with host pids, ps options, Docker's error when stopped.</summary>
[Collection(SkiffCollection.Name)]
public sealed class TopTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task Lists_the_containers_processes_and_only_those(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sh", "-c", "sleep 601 & sleep 602; wait");
        var top = (await c.Skiff(["top", c.Name])).AssertExit(0);

        var lines = top.StdoutLines;
        Assert.Equal("UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD", lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(' ', 8, StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(["sh -c sleep 601 & sleep 602; wait", "sleep 601", "sleep 602"], rows.Select(r => r[7].Trim()).Order());
        // Host pids: each one is a live process on the host running that command.
        foreach (var row in rows)
        {
            string cmdline = File.ReadAllText($"/proc/{row[1]}/cmdline").Replace('\0', ' ').Trim();
            Assert.Equal(row[7].Trim(), cmdline);
        }

        var custom = (await c.Skiff(["top", c.Name, "-o", "pid,comm"])).AssertExit(0);
        Assert.Matches(@"^PID\s+COMMAND$", custom.StdoutLines[0]);
        Assert.Equal(3, custom.StdoutLines.Count - 1);
    }

    [Theory, BothModes]
    public async Task A_stopped_container_is_dockers_not_running_error(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sleep", "600");
        (await c.Skiff(["stop", "-t", "1", c.Name])).AssertExit(0);
        var top = (await c.Skiff(["top", c.Name])).AssertExit(1);
        Assert.Equal($"Error response from daemon: container {c.Id} is not running\n", top.Stderr);
        Assert.Equal("Error response from daemon: No such container: nope\n", (await c.Skiff(["top", "nope"])).AssertExit(1).Stderr);
    }
}
