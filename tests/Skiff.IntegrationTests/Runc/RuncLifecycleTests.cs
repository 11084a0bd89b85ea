using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Runc;

/// <summary>skiff-runc driven by hand, the way runc is: run, and create → start → exec → kill → delete.</summary>
[Collection(SkiffCollection.Name)]
public sealed class RuncLifecycleTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task Run_in_the_foreground_prints_and_returns_the_exit_code_then_deletes(Mode mode)
    {
        await using var runc = new RuncBox(install, mode);
        string bundle = await runc.NewBundleAsync(["sh", "-c", "echo hello from $(hostname) as $(id -u); exit 5"]);
        string id = RuncBox.NewId("run");

        var result = await runc.Runc("run", "--bundle", bundle, id);

        result.AssertExit(5);
        Assert.Equal("hello from runc as 0\n", result.Stdout);
        await runc.AssertNoTraceOfAsync(id, result);
    }

    [Fact]
    public async Task Rootless_spec_maps_only_the_caller_and_runs_as_that_user()
    {
        await using var runc = new RuncBox(install, Mode.Rootless);
        var user = HostUsers.Get(HostUsers.WithSubIds);
        string bundle = await runc.NewBundleAsync(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/made-here"],
            c => c["root"]!["readonly"] = false);
        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(bundle, "config.json"))))
        {
            var linux = config.RootElement.GetProperty("linux");
            Assert.Contains(linux.GetProperty("namespaces").EnumerateArray(), n => n.GetProperty("type").GetString() == "user");
            // runtime-spec's names (containerID, hostID), one id: the caller's, as runc spec --rootless writes.
            var uidMap = Assert.Single(linux.GetProperty("uidMappings").EnumerateArray());
            Assert.Equal(0, uidMap.GetProperty("containerID").GetInt32());
            Assert.Equal(user.Uid, uidMap.GetProperty("hostID").GetInt32());
            Assert.Equal(1, uidMap.GetProperty("size").GetInt32());
        }

        var result = (await runc.Runc("run", "--bundle", bundle, RuncBox.NewId("rootless"))).AssertExit(0);

        // One id each in uid_map and gid_map: container 0 onto the caller's host uid and gid.
        var maps = result.StdoutLines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.True(maps.Count == 2 && maps.All(m => m.Length == 3 && m[0] == "0" && m[2] == "1"), $"want single mappings, got {result}");
        Assert.Equal(user.Uid.ToString(CultureInfo.InvariantCulture), maps[0][1]);
        // What the container made belongs to the caller on the host.
        var made = (await HostProcess.RunAsync(["stat", "-c", "%u", Path.Combine(bundle, "rootfs", "tmp", "made-here")])).AssertExit(0);
        Assert.Equal($"{user.Uid}\n", made.Stdout);
    }

    [Theory, BothModes]
    public async Task Create_start_exec_kill_delete_walk_the_states(Mode mode)
    {
        await using var runc = new RuncBox(install, mode);
        string bundle = await runc.NewBundleAsync(["sh", "-c", "echo started; exec sleep 60"]);
        string id = RuncBox.NewId("life");
        string pidFile = Path.Combine(bundle, "pid"); // the bundle is the user's: rootless, skiff-runc writes it as skiff-test

        // create: the process exists, holds before the user's program, and is in the list.
        var output = runc.OutputFiles();
        var created = await runc.RuncDetachedTo(output, "create", "--bundle", bundle, "--pid-file", pidFile, id);
        created.AssertExit(0);
        var state = await runc.StateAsync(id);
        Assert.Equal("created", state.GetProperty("status").GetString());
        Assert.Equal(id, state.GetProperty("id").GetString());
        Assert.Equal(bundle, state.GetProperty("bundle").GetString());
        int pid = state.GetProperty("pid").GetInt32();
        Assert.True(pid > 0, $"pid {pid} in {state}");
        Assert.Equal(pid.ToString(CultureInfo.InvariantCulture), File.ReadAllText(pidFile).Trim());
        Assert.True(File.Exists($"/proc/{pid}/stat"), $"no process {pid}");
        Assert.Equal("", created.Stdout); // nothing ran yet

        // start: the program runs (its output goes to create's stdout).
        (await runc.Runc("start", id)).AssertExit(0);
        state = await runc.WaitForStatusAsync(id, "running");
        Assert.Equal(pid, state.GetProperty("pid").GetInt32());
        await WaitForFileTextAsync(created.Argv, output.Stdout, "started\n");

        var ps = (await runc.Runc("ps", "--format", "json", id)).AssertExit(0);
        using (var pids = JsonDocument.Parse(ps.Stdout))
        {
            Assert.Contains(pid, pids.RootElement.EnumerateArray().Select(p => p.GetInt32()));
        }

        // exec: joins the container (its own pid namespace: a small pid), returns the exit code.
        var exec = await runc.Runc("exec", id, "sh", "-c", "echo $$; hostname; exit 9");
        exec.AssertExit(9);
        var lines = exec.StdoutLines;
        Assert.True(lines.Count == 2 && int.TryParse(lines[0], out int inner) && inner is > 1 and < 10,
            $"want a small pid and the hostname, got {exec}");
        Assert.Equal("runc", lines[1]);

        // list: runc's table and JSON.
        var table = (await runc.Runc("list")).AssertExit(0);
        Assert.Matches(new Regex(@"^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\n"), table.Stdout);
        // OWNER is not checked rootless: skiff-runc reports "root" there (runc reports the host user).
        string owner = mode == Mode.Root ? "root" : @"\S+";
        Assert.Matches(new Regex($@"^{Regex.Escape(id)}\s+{pid}\s+running\s+{Regex.Escape(bundle)}\s+\S+\s+{owner}$", RegexOptions.Multiline),
            table.Stdout);
        var listed = (await runc.Runc("list", "--format", "json")).AssertExit(0);
        using (var json = JsonDocument.Parse(listed.Stdout))
        {
            var entry = Assert.Single(json.RootElement.EnumerateArray());
            Assert.Equal(id, entry.GetProperty("id").GetString());
            Assert.Equal("running", entry.GetProperty("status").GetString());
            Assert.Equal(pid, entry.GetProperty("pid").GetInt32());
        }

        // kill: pid 1 of a pid namespace ignores TERM without a handler, KILL stops it.
        (await runc.Runc("kill", id, "KILL")).AssertExit(0);
        state = await runc.WaitForStatusAsync(id, "stopped");
        Assert.Equal(0, state.GetProperty("pid").GetInt32());

        // delete: gone from the state directory, the list, and state.
        var deleted = (await runc.Runc("delete", id)).AssertExit(0);
        await runc.AssertNoTraceOfAsync(id, deleted);
        var gone = (await runc.Runc("state", id)).AssertExit(1);
        Assert.Contains("does not exist", gone.Stderr);
    }

    [Theory, BothModes]
    public async Task Exec_and_delete_go_by_the_config_create_read_not_the_bundles_current_one(Mode mode)
    {
        await using var runc = new RuncBox(install, mode);
        string bundle = await runc.NewBundleAsync(["sleep", "60"], c => c["process"]!["env"]!.AsArray().Add((JsonNode)JsonValue.Create("FOO=at-create")));
        string id = RuncBox.NewId("saved");
        (await runc.RuncDetached("create", "--bundle", bundle, id)).AssertExit(0);
        (await runc.Runc("start", id)).AssertExit(0);
        await runc.WaitForStatusAsync(id, "running");

        // As runc: the config is the container's from create on; the bundle may change or go.
        File.WriteAllText(Path.Combine(bundle, "config.json"), "{ this is not the config any more");
        var exec = (await runc.Runc("exec", id, "sh", "-c", "echo $FOO")).AssertExit(0);
        Assert.Equal("at-create\n", exec.Stdout);

        var deleted = (await runc.Runc("delete", "--force", id)).AssertExit(0);
        Assert.Equal("", deleted.Stderr);
        await runc.AssertNoTraceOfAsync(id, deleted);
    }

    [Fact]
    public async Task Pause_resume_and_update_use_the_v1_cgroups_and_delete_removes_them()
    {
        await using var runc = new RuncBox(install, Mode.Root);
        string bundle = await runc.NewBundleAsync(["sleep", "60"]);
        string id = RuncBox.NewId("cg");
        string freezer = $"/sys/fs/cgroup/freezer/skiff/{id}";
        string pids = $"/sys/fs/cgroup/pids/skiff/{id}";
        (await runc.RuncDetached("create", "--bundle", bundle, id)).AssertExit(0);
        (await runc.Runc("start", id)).AssertExit(0);
        int pid = (await runc.WaitForStatusAsync(id, "running")).GetProperty("pid").GetInt32();
        Assert.Contains(pid.ToString(CultureInfo.InvariantCulture), File.ReadAllLines(Path.Combine(pids, "cgroup.procs")));

        (await runc.Runc("pause", id)).AssertExit(0);
        await runc.WaitForStatusAsync(id, "paused");
        Assert.Equal("FROZEN", File.ReadAllText(Path.Combine(freezer, "freezer.state")).Trim());
        var again = (await runc.Runc("pause", id)).AssertExit(1);
        Assert.Contains("paused", again.Stderr);

        (await runc.Runc("resume", id)).AssertExit(0);
        await runc.WaitForStatusAsync(id, "running");
        Assert.Equal("THAWED", File.ReadAllText(Path.Combine(freezer, "freezer.state")).Trim());

        (await runc.Runc("update", "--pids-limit", "42", id)).AssertExit(0);
        Assert.Equal("42", File.ReadAllText(Path.Combine(pids, "pids.max")).Trim());

        var deleted = (await runc.Runc("delete", "--force", id)).AssertExit(0);
        await runc.AssertNoTraceOfAsync(id, deleted);
    }

    private static async Task WaitForFileTextAsync(IReadOnlyList<string> argv, string path, string text)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (File.ReadAllText(path) != text)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                Assert.Fail($"the container of {Shell.Join(argv)} printed \"{File.ReadAllText(path)}\", not \"{text}\", in 10 s");
            }

            await Task.Delay(50);
        }
    }
}
