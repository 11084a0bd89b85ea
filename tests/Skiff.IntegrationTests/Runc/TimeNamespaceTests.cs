using System.Globalization;
using System.Text.Json.Nodes;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Runc;

/// <summary>linux.namespaces "time" with linux.timeOffsets: the container's clocks run a day ahead.</summary>
[Collection(SkiffCollection.Name)]
public sealed class TimeNamespaceTests(SkiffInstall install)
{
    private const long Day = 86400;

    [Theory, BothModes]
    public async Task A_time_namespace_with_a_day_of_offset_shows_in_uptime_and_timens_offsets(Mode mode)
    {
        await using var runc = new RuncBox(install, mode);
        string bundle = await runc.NewBundleAsync(
            ["sh", "-c", "cat /proc/uptime; cat /proc/self/timens_offsets; readlink /proc/self/ns/time"], DayAhead);
        double hostUptime = Uptime(File.ReadAllText("/proc/uptime"));
        string id = RuncBox.NewId("timens");

        var result = (await runc.Runc("run", "--bundle", bundle, id)).AssertExit(0);

        var lines = result.StdoutLines;
        Assert.True(lines.Count == 4, $"want uptime, two offsets and the namespace, got {result}");
        // /proc/uptime counts CLOCK_BOOTTIME, which the boottime offset moves.
        Assert.True(Uptime(lines[0]) >= hostUptime + Day, $"uptime {lines[0]} is not a day past the host's {hostUptime}");
        Assert.Equal(["monotonic", Day.ToString(CultureInfo.InvariantCulture), "250"], Fields(lines[1]));
        Assert.Equal(["boottime", Day.ToString(CultureInfo.InvariantCulture), "0"], Fields(lines[2]));
        Assert.NotEqual(new FileInfo("/proc/self/ns/time").LinkTarget, lines[3]);
        await runc.AssertNoTraceOfAsync(id, result);
    }

    [Fact]
    public async Task Create_puts_the_waiting_process_in_the_namespace_and_exec_joins_it()
    {
        await using var runc = new RuncBox(install, Mode.Root);
        string bundle = await runc.NewBundleAsync(["sleep", "60"], DayAhead);
        string id = RuncBox.NewId("timensexec");
        (await runc.RuncDetached("create", "--bundle", bundle, id)).AssertExit(0);
        int pid = (await runc.StateAsync(id)).GetProperty("pid").GetInt32();
        // Before start: the created process is already in its own time namespace, offsets and all.
        string ns = new FileInfo($"/proc/{pid}/ns/time").LinkTarget!;
        Assert.NotEqual(new FileInfo("/proc/self/ns/time").LinkTarget, ns);
        Assert.Contains($"boottime {Day} 0", string.Join(' ', File.ReadAllText($"/proc/{pid}/timens_offsets").Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        (await runc.Runc("start", id)).AssertExit(0);

        var exec = (await runc.Runc("exec", id, "sh", "-c", "readlink /proc/self/ns/time; cat /proc/uptime")).AssertExit(0);

        Assert.Equal(ns, exec.StdoutLines[0]);
        Assert.True(Uptime(exec.StdoutLines[1]) >= Day, $"exec's uptime {exec.StdoutLines[1]}");
        (await runc.Runc("delete", "--force", id)).AssertExit(0);
    }

    [Fact]
    public async Task Offsets_without_a_time_namespace_are_refused_with_runc_s_message()
    {
        await using var runc = new RuncBox(install, Mode.Rootless);
        string bundle = await runc.NewBundleAsync(["true"], c =>
        {
            DayAhead(c);
            var namespaces = c["linux"]!["namespaces"]!.AsArray();
            namespaces.Remove(namespaces.First(n => (string?)n!["type"] == "time"));
        });
        string id = RuncBox.NewId("notimens");

        var result = await runc.Runc("run", "--bundle", bundle, id);

        result.AssertExit(1);
        Assert.Contains("time namespace offsets specified, but time namespace isn't enabled in the config", result.Stderr);
        await runc.AssertNoTraceOfAsync(id, result);
    }

    private static void DayAhead(JsonNode config)
    {
        config["linux"]!["namespaces"]!.AsArray().Add((JsonNode)new JsonObject { ["type"] = "time" });
        config["linux"]!["timeOffsets"] = JsonNode.Parse($$"""
            { "monotonic": { "secs": {{Day}}, "nanosecs": 250 }, "boottime": { "secs": {{Day}} } }
            """);
    }

    private static double Uptime(string line) => double.Parse(line.Split(' ')[0], CultureInfo.InvariantCulture);

    private static string[] Fields(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
