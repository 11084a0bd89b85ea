using System.Diagnostics;
using System.Text.Json.Nodes;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Runc;

/// <summary>
/// `run` of a container that joins another's pid namespace: the child forks the container into
/// it and exits, so run must wait on (and forward signals to) the container, not that child.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed class JoinedPidNamespaceTests(SkiffInstall install)
{
    [Fact]
    public async Task Run_in_a_joined_pid_namespace_waits_for_the_container_and_returns_its_code()
    {
        await using var runc = new RuncBox(install, Mode.Root);
        string first = RuncBox.NewId("pidhost");
        (await runc.RuncDetached("run", "-d", "--bundle", await runc.NewBundleAsync(["sleep", "60"]), first)).AssertExit(0);
        int hostPid = (await runc.StateAsync(first)).GetProperty("pid").GetInt32();
        string bundle = await runc.NewBundleAsync(["sh", "-c", "sleep 1; echo pid $$; exit 3"], config =>
        {
            var pidNs = config["linux"]!["namespaces"]!.AsArray().First(n => (string?)n!["type"] == "pid")!;
            pidNs["path"] = $"/proc/{hostPid}/ns/pid";
        });
        string id = RuncBox.NewId("pidjoin");
        var clock = Stopwatch.StartNew();

        var result = await runc.Runc("run", "--bundle", bundle, id);

        result.AssertExit(3);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1), $"run returned after {clock.Elapsed}, before the container's sleep ended: {result}");
        // Not pid 1: it is a second process in the first container's pid namespace.
        Assert.Matches(@"^pid [0-9]+$", result.StdoutLines.Single());
        Assert.NotEqual("pid 1", result.StdoutLines.Single());
        await runc.AssertNoTraceOfAsync(id, result);
        (await runc.Runc("delete", "--force", first)).AssertExit(0);
    }
}
