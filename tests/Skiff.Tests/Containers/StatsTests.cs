using System.Text.Json;
using Skiff.Cli.Commands;
using Skiff.Engine.Containers;
using Skiff.Runtime.Cgroups;

namespace Skiff.Tests.Containers;

/// <summary>docker stats: the numbers from a real busy process (with and without a cgroup) and the docker CLI's arithmetic and layout.</summary>
public sealed class StatsTests : IDisposable
{
    private readonly TestContainer _c = TestContainer.Create("stats");
    private ICgroup? _cgroup;

    public void Dispose()
    {
        _c.Dispose();
        _cgroup?.Destroy();
    }

    /// <summary>
    /// A shell spinning on one CPU in its own pid and network namespaces; with a cgroup, it
    /// is started inside it (memory is charged where it is allocated), as a container is.
    /// </summary>
    private int StartBusy(bool inCgroup)
    {
        var launcher = _c.Start("/bin/sh", "-c", "read go; exec unshare --pid --net --fork --mount-proc /bin/sh -c 'while :; do :; done'");
        if (inCgroup)
        {
            _cgroup = ContainerCgroup.For(_c.Definition, rootless: false);
            _cgroup.Create(null);
            _cgroup.AddProcess(launcher.Id);
        }
        launcher.StandardInput.WriteLine("go");
        launcher.StandardInput.Flush();
        int init = TestContainer.ChildOf(launcher.Id);
        _c.MarkRunning(init);
        return init;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_busy_container_shows_its_cpu_memory_and_pids(bool inCgroup)
    {
        StartBusy(inCgroup);
        var stats = ContainerStats.Collect(_c.Store, [_c.Name], TimeSpan.FromMilliseconds(300)).Single();
        var entry = StatsEntry.From(_c.Name, stats);

        Assert.Equal("/stats", stats.Name);
        Assert.Equal(_c.Id, stats.Id);
        Assert.NotEqual(ContainerState.ZeroTime, stats.PreRead);
        // Other work shares this machine's CPUs: the spinning shell's share is real but not a full CPU.
        Assert.True(stats.CpuStats.CpuUsage.TotalUsage > stats.PreCpuStats.CpuUsage.TotalUsage);
        Assert.True(entry.CpuPercentage is > 2 and <= 200.5, $"one spinning CPU shows as {entry.CpuPercentage:F2}%");
        Assert.True(stats.MemoryStats.Usage > 0);
        Assert.True(stats.MemoryStats.Limit > 0);
        // The cgroup's count also has the unshare that started the stand-in inside it.
        Assert.Equal(inCgroup ? 2 : 1, stats.PidsStats.Current);
        // Its own network namespace with only a loopback: no networks, as Docker shows --network none.
        Assert.Null(stats.Networks);
        Assert.Equal("0B / 0B", entry.Field("NetIO", trunc: true));
        if (inCgroup)
        {
            Assert.NotNull(stats.MemoryStats.Stats);
            Assert.True(stats.MemoryStats.Stats!.ContainsKey("total_inactive_file") || stats.MemoryStats.Stats.ContainsKey("inactive_file"));
        }
    }

    [Fact]
    public void An_idle_container_uses_next_to_no_cpu()
    {
        int unshare = _c.Run("unshare", "--pid", "--fork", "--mount-proc", "/bin/sleep", "600");
        _c.MarkRunning(TestContainer.ChildOf(unshare));
        var stats = ContainerStats.Collect(_c.Store, [_c.Name], TimeSpan.FromMilliseconds(300)).Single();
        Assert.True(StatsEntry.From(_c.Name, stats).CpuPercentage < 2);
        Assert.Equal(1, stats.PidsStats.Current);
    }

    [Fact]
    public void A_stopped_container_has_zeros_and_its_name()
    {
        var stats = ContainerStats.Collect(_c.Store, [_c.Id[..12]], TimeSpan.FromMilliseconds(10)).Single();
        Assert.Equal(ContainerState.ZeroTime, stats.Read);
        var entry = StatsEntry.From(_c.Id[..12], stats);
        Assert.Equal(["stats", "0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0"],
            new[] { "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs" }.Select(f => entry.Field(f, true)));
        Assert.Equal("No such container: nope",
            Assert.Throws<SkiffException>(() => ContainerStats.Collect(_c.Store, ["nope"], TimeSpan.Zero)).Message);
    }

    [Fact]
    public void The_api_object_has_dockers_field_names()
    {
        var stats = new ContainerStatsJson { Name = "/x", Id = "abc" };
        stats.CpuStats.CpuUsage.TotalUsage = 5;
        stats.Networks = new() { ["eth0"] = new NetworkStats { RxBytes = 1 } };
        string json = JsonSerializer.Serialize(stats, ContainerStatsJsonContext.Default.ContainerStatsJson);
        foreach (var key in new[] { "\"read\"", "\"preread\"", "\"cpu_stats\"", "\"precpu_stats\"", "\"cpu_usage\"", "\"total_usage\"",
                     "\"memory_stats\"", "\"pids_stats\"", "\"blkio_stats\"", "\"io_service_bytes_recursive\"", "\"networks\"", "\"rx_bytes\"" })
        {
            Assert.Contains(key, json);
        }
    }

    [Fact]
    public void Cpu_percent_and_memory_are_computed_as_the_docker_cli_computes_them()
    {
        var before = new CpuStats { SystemCpuUsage = 10_000_000_000 };
        before.CpuUsage.TotalUsage = 1_000_000_000;
        var now = new CpuStats { SystemCpuUsage = 12_000_000_000, OnlineCpus = 2 };
        now.CpuUsage.TotalUsage = 2_000_000_000;
        Assert.Equal(100.0, StatsEntry.CpuPercent(before, now), 6);

        Assert.Equal(700.0, StatsEntry.MemoryWithoutCache(new MemoryStats { Usage = 1000, Stats = new() { ["total_inactive_file"] = 300 } }));
        Assert.Equal(900.0, StatsEntry.MemoryWithoutCache(new MemoryStats { Usage = 1000, Stats = new() { ["inactive_file"] = 100 } }));
        Assert.Equal(1000.0, StatsEntry.MemoryWithoutCache(new MemoryStats { Usage = 1000 }));
    }

    [Theory]
    [InlineData(0, "0B")]
    [InlineData(512, "512B")]
    [InlineData(1536, "1.5KiB")]
    [InlineData(1425408, "1.359MiB")]
    [InlineData(25275310080, "23.54GiB")]
    public void Memory_sizes_are_go_units_binary(double bytes, string text) => Assert.Equal(text, Units.BytesSize(bytes));

    [Theory]
    [InlineData(0, "0B")]
    [InlineData(648, "648B")]
    [InlineData(1234, "1.23kB")]
    [InlineData(2048, "2.05kB")]
    [InlineData(999999, "1e+03kB")]
    [InlineData(12345678, "12.3MB")]
    public void Io_sizes_are_go_units_decimal_with_three_digits(double bytes, string text) => Assert.Equal(text, Units.HumanSize(bytes));

    [Fact]
    public void The_default_table_lines_up_as_dockers_tabwriter_does()
    {
        var entry = new StatsEntry { Container = "c", Name = "/web", Id = new string('a', 64), CpuPercentage = 0.5, Memory = 1425408, MemoryLimit = 25275310080, MemoryPercentage = 0.0056, PidsCurrent = 3 };
        string text = StatsFormat.Parse("table").Render([entry], trunc: true);
        Assert.Equal(
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT     MEM %     NET I/O   BLOCK I/O   PIDS\n" +
            "aaaaaaaaaaaa   web       0.50%     1.359MiB / 23.54GiB   0.01%     0B / 0B   0B / 0B     3\n", text);
    }

    [Fact]
    public void Templates_and_json_format_fields()
    {
        var entry = new StatsEntry { Container = "c", Name = "/web", Id = "0123456789abcdef", PidsCurrent = 2 };
        Assert.Equal("web 2\n", StatsFormat.Parse("{{.Name}} {{ .PIDs }}").Render([entry], true));
        Assert.Equal("NAME      CONTAINER ID\nweb       0123456789ab\n", StatsFormat.Parse("table {{.Name}}\\t{{.ID}}").Render([entry], true));
        string json = StatsFormat.Parse("json").Render([entry], false);
        Assert.StartsWith("{\"BlockIO\":\"0B / 0B\",\"CPUPerc\":\"0.00%\",\"Container\":\"c\",\"ID\":\"0123456789abcdef\"", json);
        Assert.Equal("web 2 \n", StatsFormat.Parse("{{.Name}} {{.PIDs}} {{if eq .Name \"x\"}}x{{end}}").Render([entry], true));
        Assert.Throws<SkiffException>(() => StatsFormat.Parse("{{.Name"));
    }
}
