using System.Text.Json;
using System.Text.Json.Nodes;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Runc;

/// <summary>
/// SCMP_ACT_NOTIFY with linux.seccomp.listenerPath: the runtime hands the filter's listener
/// to an agent (ours, in the test) with the container process state, and the agent's
/// answers are what the container's syscalls return.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed class SeccompNotifyTests(SkiffInstall install)
{
    private const int ENOMEDIUM = 123; // "No medium found": no file system would say that to mkdir
    private const string Metadata = "skiff-test-metadata";

    /// <summary>
    /// mkdir /a is answered with ENOMEDIUM, mkdir /b with a success that made nothing.
    /// noNewPrivileges decides where the filter is loaded: before the capabilities drop or last.
    /// </summary>
    [Theory]
    [InlineData(Mode.Root, true)]
    [InlineData(Mode.Root, false)]
    [InlineData(Mode.Rootless, true)]
    public async Task The_agent_answers_the_notified_mkdir_and_gets_the_container_process_state(Mode mode, bool noNewPrivileges)
    {
        await using var runc = new RuncBox(install, mode);
        using var agent = new SeccompAgent(Path.Combine(runc.Box.Dir, "agent.sock"), ENOMEDIUM, 0);
        string bundle = await runc.NewBundleAsync(
            ["sh", "-c", "mkdir /a; echo \"a $?\"; mkdir /b && echo 'b made'; [ -d /b ] || echo 'b absent'"],
            c => Notify(c, agent.Path, noNewPrivileges));
        string id = RuncBox.NewId("notify");

        var result = await runc.Runc("run", "--bundle", bundle, id);

        result.AssertExit(0);
        Assert.Equal("a 1\nb made\nb absent\n", result.Stdout);
        Assert.Contains("No medium found", result.Stderr);
        Assert.Empty(agent.Errors);
        Assert.Equal(2, agent.Notified.Count(nr => nr is Mkdir or Mkdirat));

        var state = Assert.Single(agent.States);
        Assert.Equal(["seccompFd"], state.GetProperty("fds").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(Metadata, state.GetProperty("metadata").GetString());
        int pid = state.GetProperty("pid").GetInt32();
        Assert.True(pid > 0, $"pid in {state}");
        var container = state.GetProperty("state");
        Assert.Equal(id, container.GetProperty("id").GetString());
        Assert.Equal(pid, container.GetProperty("pid").GetInt32());
        Assert.Equal("creating", container.GetProperty("status").GetString());
        Assert.Equal(bundle, container.GetProperty("bundle").GetString());
        await runc.AssertNoTraceOfAsync(id, result);
    }

    [Fact]
    public async Task Exec_hands_its_own_listener_to_the_agent()
    {
        await using var runc = new RuncBox(install, Mode.Root);
        // sleep makes no mkdir: the one answer is the exec's.
        using var agent = new SeccompAgent(Path.Combine(runc.Box.Dir, "agent.sock"), ENOMEDIUM);
        string bundle = await runc.NewBundleAsync(["sleep", "60"], c => Notify(c, agent.Path, noNewPrivileges: true));
        string id = RuncBox.NewId("notifyexec");
        (await runc.RuncDetached("run", "-d", "--bundle", bundle, id)).AssertExit(0);
        int containerPid = (await runc.StateAsync(id)).GetProperty("pid").GetInt32();

        var exec = await runc.Runc("exec", id, "sh", "-c", "mkdir /x; echo \"x $?\"");

        exec.AssertExit(0);
        Assert.Equal("x 1\n", exec.Stdout);
        Assert.Contains("No medium found", exec.Stderr);
        await agent.WaitForStatesAsync(2);
        var states = agent.States.ToArray();
        Assert.Equal(2, states.Length);
        Assert.Equal(containerPid, states[0].GetProperty("pid").GetInt32());
        var execState = states[1];
        Assert.NotEqual(containerPid, execState.GetProperty("pid").GetInt32());
        Assert.Equal(containerPid, execState.GetProperty("state").GetProperty("pid").GetInt32());
        Assert.Equal("running", execState.GetProperty("state").GetProperty("status").GetString());
        Assert.Empty(agent.Errors);
        (await runc.Runc("delete", "--force", id)).AssertExit(0);
    }

    [Fact]
    public async Task Without_an_agent_listening_run_fails_with_runc_s_message_and_leaves_nothing()
    {
        await using var runc = new RuncBox(install, Mode.Rootless);
        string bundle = await runc.NewBundleAsync(["true"], c => Notify(c, Path.Combine(runc.Box.Dir, "nobody.sock"), noNewPrivileges: true));
        string id = RuncBox.NewId("noagent");

        var result = await runc.Runc("run", "--bundle", bundle, id);

        result.AssertExit(1);
        Assert.Contains("failed to connect with seccomp agent specified in the seccomp profile", result.Stderr);
        await runc.AssertNoTraceOfAsync(id, result);
    }

    [Fact]
    public async Task Notify_without_a_listener_path_is_refused_before_anything_starts()
    {
        await using var runc = new RuncBox(install, Mode.Root);
        string bundle = await runc.NewBundleAsync(["true"], c =>
        {
            Notify(c, "", noNewPrivileges: true);
            c["linux"]!["seccomp"]!.AsObject().Remove("listenerPath");
            c["linux"]!["seccomp"]!.AsObject().Remove("listenerMetadata");
        });
        string id = RuncBox.NewId("nopath");

        var result = await runc.Runc("run", "--bundle", bundle, id);

        result.AssertExit(1);
        Assert.Contains("seccomp listenerPath is not set", result.Stderr);
        await runc.AssertNoTraceOfAsync(id, result);
    }

    [Fact]
    public async Task Features_list_the_notify_action()
    {
        await using var runc = new RuncBox(install, Mode.Root);
        var result = (await runc.Runc("features")).AssertExit(0);
        using var features = JsonDocument.Parse(result.Stdout);
        var linux = features.RootElement.GetProperty("linux");
        Assert.Contains("SCMP_ACT_NOTIFY", linux.GetProperty("seccomp").GetProperty("actions").EnumerateArray().Select(a => a.GetString()));
        Assert.Contains("time", linux.GetProperty("namespaces").EnumerateArray().Select(a => a.GetString()));
    }

    private const int Mkdir = 83, Mkdirat = 258; // x86_64

    private static void Notify(JsonNode config, string listenerPath, bool noNewPrivileges)
    {
        config["process"]!["noNewPrivileges"] = noNewPrivileges;
        config["linux"]!["seccomp"] = JsonNode.Parse($$"""
            {
              "defaultAction": "SCMP_ACT_ALLOW",
              "listenerPath": "{{listenerPath}}",
              "listenerMetadata": "{{Metadata}}",
              "architectures": [ "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64" ],
              "syscalls": [ { "names": [ "mkdir", "mkdirat" ], "action": "SCMP_ACT_NOTIFY" } ]
            }
            """);
    }
}
