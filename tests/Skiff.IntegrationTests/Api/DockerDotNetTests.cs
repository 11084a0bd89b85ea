using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Api;

/// <summary>
/// Docker.DotNet (NuGet, as .NET programs use it) against `skiff serve`. It negotiates no
/// version (bare paths) and hijacks attach and exec without an Upgrade header.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed class DockerDotNetTests(SkiffInstall install)
{
    private static DockerClient Client(SkiffDaemon daemon) =>
        new DockerClientConfiguration(new Uri(daemon.Host), defaultTimeout: TimeSpan.FromSeconds(60)).CreateClient();

    [Fact]
    public async Task Create_attach_start_wait_and_remove_a_container()
    {
        using var box = install.NewSandbox(Mode.Root);
        await DockerSandbox.ImportBusybox(box, "bb:sdk");
        await using var daemon = await SkiffDaemon.StartAsync(box);
        using var client = Client(daemon);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        try
        {
            var created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Image = "bb:sdk",
                Name = "sdk-run",
                Cmd = ["sh", "-c", "read line; echo got $line; echo to stderr >&2; exit 9"],
                Env = ["FROM=sdk"],
                Labels = new Dictionary<string, string> { ["made-by"] = "docker.dotnet" },
                AttachStdin = true,
                AttachStdout = true,
                AttachStderr = true,
                OpenStdin = true,
                StdinOnce = true,
            }, ct);
            Assert.Matches("^[0-9a-f]{64}$", created.ID);

            // Attached before the start, with stdin sent before the start too: nothing is lost.
            using var stream = await client.Containers.AttachContainerAsync(created.ID, tty: false,
                new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true }, ct);
            var line = Encoding.UTF8.GetBytes("hello\n");
            await stream.WriteAsync(line, 0, line.Length, ct);
            stream.CloseWrite();
            Assert.True(await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), ct));
            var (stdout, stderr) = await stream.ReadOutputToEndAsync(ct);
            // Docker.DotNet waits without a condition (not-running): after the start, as dockerd answers a created container at once.
            var exit = await client.Containers.WaitContainerAsync(created.ID, ct);

            Assert.Equal("got hello\n", stdout);
            Assert.Equal("to stderr\n", stderr);
            Assert.Equal(9, exit.StatusCode);

            var inspect = await client.Containers.InspectContainerAsync(created.ID, ct);
            Assert.Equal("/sdk-run", inspect.Name);
            Assert.Equal("exited", inspect.State.Status);
            Assert.Equal(9, inspect.State.ExitCode);
            Assert.Contains("FROM=sdk", inspect.Config.Env);
            var list = await client.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { ["made-by=docker.dotnet"] = true } },
            }, ct);
            Assert.Equal(["/sdk-run"], Assert.Single(list).Names);

            var logs = await client.Containers.GetContainerLogsAsync(created.ID, tty: false,
                new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, ct);
            var (logOut, logErr) = await logs.ReadOutputToEndAsync(ct);
            Assert.Equal("got hello\n", logOut);
            Assert.Equal("to stderr\n", logErr);

            await client.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters(), ct);
            await Assert.ThrowsAsync<DockerContainerNotFoundException>(() => client.Containers.InspectContainerAsync(created.ID, ct));
        }
        finally
        {
            await DockerSandbox.RemoveAll(box);
        }
    }

    [Fact]
    public async Task Exec_with_a_result_a_terminal_and_a_resize()
    {
        using var box = install.NewSandbox(Mode.Root);
        await DockerSandbox.ImportBusybox(box, "bb:sdkexec");
        await using var daemon = await SkiffDaemon.StartAsync(box);
        using var client = Client(daemon);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        try
        {
            var created = await client.Containers.CreateContainerAsync(new CreateContainerParameters { Image = "bb:sdkexec", Cmd = ["sleep", "100"] }, ct);
            await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), ct);

            var exec = await client.Exec.ExecCreateContainerAsync(created.ID, new ContainerExecCreateParameters
            {
                Cmd = ["sh", "-c", "echo out; echo err >&2; exit 3"],
                AttachStdout = true,
                AttachStderr = true,
            }, ct);
            using (var stream = await client.Exec.StartAndAttachContainerExecAsync(exec.ID, tty: false, ct))
            {
                var (stdout, stderr) = await stream.ReadOutputToEndAsync(ct);
                Assert.Equal("out\n", stdout);
                Assert.Equal("err\n", stderr);
            }
            var result = await client.Exec.InspectContainerExecAsync(exec.ID, ct);
            Assert.False(result.Running);
            Assert.Equal(3, result.ExitCode);
            Assert.Equal(created.ID, result.ContainerID);

            // A terminal: the size set after the start reaches the program as SIGWINCH.
            var tty = await client.Exec.ExecCreateContainerAsync(created.ID, new ContainerExecCreateParameters
            {
                Cmd = ["sh", "-c", "trap 'stty size; exit 0' WINCH; echo ready; while true; do sleep 0.05; done"],
                AttachStdout = true,
                AttachStderr = true,
                Tty = true,
            }, ct);
            using (var stream = await client.Exec.StartAndAttachContainerExecAsync(tty.ID, tty: true, ct))
            {
                var seen = new StringBuilder();
                var buffer = new byte[4096];
                bool resized = false;
                while (true)
                {
                    var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, ct);
                    if (read.EOF)
                    {
                        break;
                    }
                    seen.Append(Encoding.UTF8.GetString(buffer, 0, read.Count));
                    if (!resized && seen.ToString().Contains("ready"))
                    {
                        resized = true;
                        await client.Exec.ResizeContainerExecTtyAsync(tty.ID, new ContainerResizeParameters { Height = 33, Width = 77 }, ct);
                    }
                }
                Assert.Equal("ready\r\n33 77\r\n", seen.ToString());
            }
            Assert.Equal(0, (await client.Exec.InspectContainerExecAsync(tty.ID, ct)).ExitCode);
        }
        finally
        {
            await DockerSandbox.RemoveAll(box);
        }
    }
}
