using System.Text.Json;
using System.Text.Json.Nodes;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Runc;

/// <summary>
/// What skiff-runc refuses: exit 1, the reason on stderr (and in --log), and never a
/// half-made container: no state directory, nothing in list, no cgroup.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed class RuncBadInputTests(SkiffInstall install)
{
    /// <summary>Line 5 holds the stray "}" after a dangling comma.</summary>
    private const string BrokenJson = "{\n  \"ociVersion\": \"1.2.0\",\n  \"process\": {\n    \"args\": [\"sh\",\n  }\n}\n";

    public static TheoryData<string, string> Configs() => new()
    {
        { "create", "not-json" }, { "run", "not-json" },
        { "create", "wrong-type" }, { "run", "wrong-type" },
        { "create", "oci-2" }, { "run", "oci-2" },
        { "create", "no-rootfs" }, { "run", "no-rootfs" },
        { "create", "relative-cwd" }, { "run", "relative-cwd" },
    };

    [Theory, MemberData(nameof(Configs))]
    public async Task A_bad_config_is_refused_with_its_path_and_leaves_nothing(string verb, string problem)
    {
        await using var runc = new RuncBox(install, Mode.Root);
        string bundle = await runc.NewBundleAsync(["true"], Break(problem));
        string config = Path.Combine(bundle, "config.json");
        if (problem == "not-json")
        {
            File.WriteAllText(config, BrokenJson);
        }

        string id = RuncBox.NewId(problem);

        var result = (await runc.RuncDetached(verb, "--bundle", bundle, id)).AssertExit(1);

        string[] expected = problem switch
        {
            "not-json" => [config, "$.process.args", "line 5"],
            "wrong-type" => [config, "$.process.args", $"line {LineOf(config, "\"args\": \"sh\"")}"],
            "oci-2" => ["ociVersion", "2.0.0", "not supported"],
            "no-rootfs" => ["root.path", Path.Combine(bundle, "missing-rootfs"), "no such directory"],
            "relative-cwd" => ["process.cwd", "\"srv\"", "absolute"],
            _ => throw new ArgumentOutOfRangeException(nameof(problem)),
        };
        foreach (var text in expected)
        {
            Assert.True(result.Stderr.Contains(text, StringComparison.Ordinal), $"stderr lacks \"{text}\": {result}");
        }

        Assert.Equal("", result.Stdout);
        await runc.AssertNoTraceOfAsync(id, result);
    }

    [Fact]
    public async Task Log_json_gets_the_error_as_a_runc_log_line()
    {
        await using var runc = new RuncBox(install, Mode.Root);
        string bundle = await runc.NewBundleAsync(["true"], Break("oci-2"));
        string log = Path.Combine(runc.Box.Dir, "runc.log");
        string id = RuncBox.NewId("log");

        var result = (await runc.RuncWith(["--log", log, "--log-format", "json"], "create", "--bundle", bundle, id)).AssertExit(1);

        Assert.Contains("2.0.0", result.Stderr);
        var line = Assert.Single(File.ReadAllLines(log));
        using var json = JsonDocument.Parse(line);
        Assert.Equal("error", json.RootElement.GetProperty("level").GetString());
        string msg = json.RootElement.GetProperty("msg").GetString() ?? "";
        Assert.Contains("ociVersion", msg);
        Assert.Contains("2.0.0", msg);
        Assert.True(DateTimeOffset.TryParse(json.RootElement.GetProperty("time").GetString(), out _), line);
        await runc.AssertNoTraceOfAsync(id, result);
    }

    [Fact]
    public async Task Create_with_an_id_that_exists_is_refused_and_keeps_the_first()
    {
        await using var runc = new RuncBox(install, Mode.Root);
        string bundle = await runc.NewBundleAsync(["sleep", "60"]);
        string id = RuncBox.NewId("dup");
        (await runc.RuncDetached("create", "--bundle", bundle, id)).AssertExit(0);
        int pid = (await runc.StateAsync(id)).GetProperty("pid").GetInt32();

        var again = (await runc.RuncDetached("create", "--bundle", bundle, id)).AssertExit(1);

        Assert.Contains("container with id exists", again.Stderr);
        var state = await runc.StateAsync(id);
        Assert.Equal("created", state.GetProperty("status").GetString());
        Assert.Equal(pid, state.GetProperty("pid").GetInt32());
        Assert.Equal([id], await runc.ListIdsAsync());
        (await runc.Runc("delete", id)).AssertExit(0);
    }

    [Fact]
    public async Task Verbs_in_the_wrong_state_are_refused_and_change_nothing()
    {
        await using var runc = new RuncBox(install, Mode.Root);
        string bundle = await runc.NewBundleAsync(["sleep", "60"]);
        string id = RuncBox.NewId("state");
        (await runc.RuncDetached("create", "--bundle", bundle, id)).AssertExit(0);

        var badSignal = (await runc.Runc("kill", id, "NOSUCHSIG")).AssertExit(1);
        Assert.Contains("invalid signal", badSignal.Stderr);
        Assert.Equal("created", (await runc.StateAsync(id)).GetProperty("status").GetString());

        (await runc.Runc("start", id)).AssertExit(0);
        await runc.WaitForStatusAsync(id, "running");
        var startAgain = (await runc.Runc("start", id)).AssertExit(1);
        Assert.Contains("running", startAgain.Stderr);

        var deleteRunning = (await runc.Runc("delete", id)).AssertExit(1);
        Assert.Contains("--force", deleteRunning.Stderr);
        Assert.Equal("running", (await runc.StateAsync(id)).GetProperty("status").GetString());

        var forced = (await runc.Runc("delete", "--force", id)).AssertExit(0);
        await runc.AssertNoTraceOfAsync(id, forced);
    }

    [Theory, BothModes]
    public async Task State_of_an_unknown_id_says_it_does_not_exist(Mode mode)
    {
        await using var runc = new RuncBox(install, mode);
        string id = RuncBox.NewId("ghost");

        var result = (await runc.Runc("state", id)).AssertExit(1);

        Assert.Contains($"does not exist: {id}", result.Stderr);
        Assert.Equal("", result.Stdout);
    }

    private static int LineOf(string file, string text) =>
        File.ReadAllLines(file).Select((line, i) => (line, i)).First(l => l.line.Contains(text, StringComparison.Ordinal)).i + 1;

    private static Action<JsonNode>? Break(string problem) => problem switch
    {
        "wrong-type" => c => c["process"]!["args"] = "sh",
        "oci-2" => c => c["ociVersion"] = "2.0.0",
        "no-rootfs" => c => c["root"]!["path"] = "missing-rootfs",
        "relative-cwd" => c => c["process"]!["cwd"] = "srv",
        _ => null,
    };
}
