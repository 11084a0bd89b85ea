using System.Text.Json;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Runc;

/// <summary>runtime-spec hooks: createContainer and startContainer run in the container's namespaces.</summary>
[Collection(SkiffCollection.Name)]
public sealed class HookTests(SkiffInstall install)
{
    // The host's static busybox: a hook binary that also runs where no libc is.
    private const string Busybox = "/bin/busybox";

    [Fact]
    public async Task Create_and_start_container_hooks_run_in_the_container_with_the_state_on_stdin()
    {
        await using var runc = new RuncBox(install, Mode.Root);
        string bundle = await runc.NewBundleAsync(["sh", "-c", "cat /tmp/started"], c =>
        {
            c["root"]!["readonly"] = false;
            c["hooks"] = Node("""
                {
                  "prestart": [ { "path": "/bin/busybox", "args": [ "busybox", "sh", "-c", "p=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p'); readlink /proc/$p/root > \"$0/prestart-root\"" ] } ],
                  "createContainer": [ { "path": "/bin/busybox", "args": [ "busybox", "sh", "-c", "cat > \"$0/hook-state.json\"; readlink /proc/self/ns/uts > \"$0/hook-uts\"" ] } ],
                  "startContainer": [ { "path": "/bin/busybox", "args": [ "busybox", "sh", "-c", "echo started-by-hook > /tmp/started" ] } ]
                }
                """);
        });
        // The createContainer hook writes next to the bundle: before pivot_root it sees the runtime's paths.
        Patch(bundle, "createContainer", bundle);
        Patch(bundle, "prestart", bundle);
        string id = RuncBox.NewId("hooks");

        var output = runc.OutputFiles();
        var created = await runc.RuncDetachedTo(output, "create", "--bundle", bundle, id);
        created.AssertExit(0);
        var state = await runc.StateAsync(id);
        int pid = state.GetProperty("pid").GetInt32();
        Assert.Equal(new FileInfo($"/proc/{pid}/ns/uts").LinkTarget + "\n", File.ReadAllText(Path.Combine(bundle, "hook-uts")));
        Assert.NotEqual(new FileInfo("/proc/self/ns/uts").LinkTarget, new FileInfo($"/proc/{pid}/ns/uts").LinkTarget);
        // prestart ran in the runtime's namespaces while the container's root was still the host's: before pivot_root.
        Assert.Equal("/\n", File.ReadAllText(Path.Combine(bundle, "prestart-root")));
        using (var hookState = JsonDocument.Parse(File.ReadAllText(Path.Combine(bundle, "hook-state.json"))))
        {
            Assert.Equal(id, hookState.RootElement.GetProperty("id").GetString());
            Assert.Equal("creating", hookState.RootElement.GetProperty("status").GetString());
            Assert.Equal(pid, hookState.RootElement.GetProperty("pid").GetInt32());
        }

        (await runc.Runc("start", id)).AssertExit(0);
        await runc.WaitForStatusAsync(id, "stopped");
        Assert.Equal("started-by-hook\n", File.ReadAllText(output.Stdout));
        (await runc.Runc("delete", id)).AssertExit(0);
    }

    [Fact]
    public async Task A_failing_or_slow_create_container_hook_fails_create_and_leaves_nothing()
    {
        await using var runc = new RuncBox(install, Mode.Root);
        string failing = await runc.NewBundleAsync(["true"], c => c["hooks"] = Node("""
            { "createContainer": [ { "path": "/bin/busybox", "args": [ "busybox", "false" ] } ] }
            """));
        string id = RuncBox.NewId("hookfail");
        var result = await runc.Runc("run", "--bundle", failing, id);
        result.AssertExit(1);
        Assert.Contains($"hooks.createContainer[0]: {Busybox} exited 1", result.Stderr);
        await runc.AssertNoTraceOfAsync(id, result);

        string slow = await runc.NewBundleAsync(["true"], c => c["hooks"] = Node("""
            { "createContainer": [ { "path": "/bin/busybox", "args": [ "busybox", "sleep", "30" ], "timeout": 1 } ] }
            """));
        string id2 = RuncBox.NewId("hookslow");
        var timedOut = await runc.Runc("run", "--bundle", slow, id2);
        timedOut.AssertExit(1);
        Assert.Contains("timed out after 1 s", timedOut.Stderr);
        await runc.AssertNoTraceOfAsync(id2, timedOut);
    }

    private static System.Text.Json.Nodes.JsonNode Node(string json) => System.Text.Json.Nodes.JsonNode.Parse(json)!;

    /// <summary>The hook's $0 is the bundle: args[2] is the script, args[3] its $0.</summary>
    private static void Patch(string bundle, string phase, string arg0)
    {
        string path = Path.Combine(bundle, "config.json");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        config["hooks"]![phase]![0]!["args"]!.AsArray().Add((System.Text.Json.Nodes.JsonNode?)System.Text.Json.Nodes.JsonValue.Create(arg0));
        File.WriteAllText(path, config.ToJsonString());
    }
}
