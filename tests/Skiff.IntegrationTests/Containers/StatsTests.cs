using System.Text.Json;
using System.Text.RegularExpressions;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Containers;

/// <summary>skiff stats --no-stream against real containers: Docker's columns, a busy container's CPU, formats and errors.</summary>
[Collection(SkiffCollection.Name)]
public sealed class StatsTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task A_busy_container_shows_cpu_memory_and_pids_in_dockers_columns(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sh", "-c", "while :; do :; done");
        var stats = (await c.Skiff(["stats", "--no-stream"])).AssertExit(0);

        var lines = stats.StdoutLines;
        Assert.Equal(2, lines.Count);
        Assert.Matches(@"^CONTAINER ID   NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS$", lines[0]);
        var cells = Regex.Split(lines[1], "   +");
        Assert.Equal(c.Id[..12], cells[0]);
        Assert.Equal(c.Name, cells[1]);
        double cpu = double.Parse(cells[2].TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(cpu > 1, $"a spinning shell shows {cells[2]}");
        Assert.Matches(@"^[0-9.]+[KMG]?i?B / [0-9.]+[KMG]iB$", cells[3]);
        Assert.Equal("1", cells[^1]);
        // Columns line up under their titles, as docker's tabwriter puts them.
        Assert.Equal(lines[0].IndexOf("NAME", StringComparison.Ordinal), lines[1].IndexOf(c.Name, StringComparison.Ordinal));
    }

    [Theory, BothModes]
    public async Task Formats_a_stopped_container_and_a_missing_one(Mode mode)
    {
        await using var c = await DetachedContainer.StartAsync(install, mode, "sleep", "600");

        var formatted = (await c.Skiff(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", c.Name])).AssertExit(0);
        Assert.Equal($"{c.Name} 1\n", formatted.Stdout);
        using (var json = JsonDocument.Parse((await c.Skiff(["stats", "--no-stream", "--format", "json", c.Name])).AssertExit(0).Stdout))
        {
            Assert.Equal(c.Name, json.RootElement.GetProperty("Name").GetString());
            Assert.Equal(c.Id[..12], json.RootElement.GetProperty("ID").GetString());
        }

        (await c.Skiff(["stop", "-t", "1", c.Name])).AssertExit(0);
        Assert.Single((await c.Skiff(["stats", "--no-stream"])).AssertExit(0).StdoutLines);
        var stopped = (await c.Skiff(["stats", "--no-stream", "-a", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.NetIO}}|{{.PIDs}}"])).AssertExit(0);
        Assert.Equal($"{c.Name}|0.00%|0B / 0B|0B / 0B|0\n", stopped.Stdout);

        var missing = (await c.Skiff(["stats", "--no-stream", "nope"])).AssertExit(1);
        Assert.Equal("Error response from daemon: No such container: nope\n", missing.Stderr);
        Assert.Equal("", missing.Stdout);
    }
}
