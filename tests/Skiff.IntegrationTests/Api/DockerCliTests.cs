using System.Text.Json;
using Skiff.IntegrationTests.Images;
using Skiff.IntegrationTests.Support;
using Xunit.Abstractions;

namespace Skiff.IntegrationTests.Api;

/// <summary>The real docker CLI (v28, no engine of its own) against `skiff serve` on a unix socket.</summary>
[Collection(SkiffCollection.Name)]
public sealed class DockerCliTests(SkiffInstall install, ITestOutputHelper output)
{
    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    private static async Task<string> ImportBusybox(Sandbox box, string name, string cmd = "CMD [\"echo\", \"hello\"]") =>
        (await box.Skiff(["import", "-c", cmd, await LayerTarballs.BusyboxAsync(box, Unique("bb") + ".tar"), name])).AssertExit(0).Stdout.Trim();

    [Fact]
    public async Task Version_and_info_describe_skiff_and_the_host()
    {
        using var box = install.NewSandbox(Mode.Root);
        await using var daemon = await SkiffDaemon.StartAsync(box);

        var version = (await daemon.Docker("version")).AssertExit(0);
        var info = (await daemon.Docker("info", "--format", "{{json .}}")).AssertExit(0);
        var human = (await daemon.Docker("info")).AssertExit(0);

        Assert.Contains("Server: skiff", version.Stdout);
        Assert.Matches(@"API version:\s+1\.47 \(minimum version 1\.24\)", version.Stdout);
        using var doc = JsonDocument.Parse(info.Stdout);
        var i = doc.RootElement;
        Assert.Equal(box.StorageRoot, i.GetProperty("DockerRootDir").GetString());
        Assert.Equal(Environment.ProcessorCount, i.GetProperty("NCPU").GetInt32());
        Assert.Equal("overlay", i.GetProperty("Driver").GetString());
        Assert.Equal("linux", i.GetProperty("OSType").GetString());
        Assert.Equal(Environment.MachineName, i.GetProperty("Name").GetString());
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), i.GetProperty("KernelVersion").GetString());
        Assert.Contains("Swarm: inactive", human.Stdout);
        Assert.DoesNotContain("ERROR", human.Stderr);
    }

    [Fact]
    public async Task Images_tag_inspect_and_rmi_work_on_the_store_the_skiff_cli_uses()
    {
        using var box = install.NewSandbox(Mode.Root);
        string id = await ImportBusybox(box, "bb:1");
        await using var daemon = await SkiffDaemon.StartAsync(box);

        (await daemon.Docker("tag", "bb:1", "team/app:v2")).AssertExit(0);
        var images = (await daemon.Docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")).AssertExit(0);
        var inspect = (await daemon.Docker("inspect", "team/app:v2")).AssertExit(0);
        var filtered = (await daemon.Docker("images", "-q", "team/*")).AssertExit(0);

        string shortId = id["sha256:".Length..][..12];
        Assert.Equal([$"bb:1 {shortId}", $"team/app:v2 {shortId}"], images.StdoutLines.Order());
        using (var doc = JsonDocument.Parse(inspect.Stdout))
        {
            var image = doc.RootElement[0];
            Assert.Equal(id, image.GetProperty("Id").GetString());
            Assert.Equal(["echo", "hello"], image.GetProperty("Config").GetProperty("Cmd").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("layers", image.GetProperty("RootFS").GetProperty("Type").GetString());
        }
        Assert.Equal(shortId + "\n", filtered.Stdout);
        // What the API tagged, the CLI sees, and runs.
        Assert.Equal("hello\n", (await box.Skiff(["run", "--rm", "team/app:v2"])).AssertExit(0).Stdout);

        var untag = (await daemon.Docker("rmi", "team/app:v2")).AssertExit(0);
        Assert.Equal("Untagged: team/app:v2\n", untag.Stdout);
        var remove = (await daemon.Docker("rmi", "bb:1")).AssertExit(0);
        Assert.Equal(["Untagged: bb:1", "Deleted: " + id], remove.StdoutLines);
        var missing = await daemon.Docker("rmi", "bb:1");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no such image", missing.Stderr, StringComparison.OrdinalIgnoreCase);
        var inspectMissing = await daemon.Docker("inspect", "bb:1");
        Assert.Equal(1, inspectMissing.ExitCode);
        Assert.Contains("No such object: bb:1", inspectMissing.Stderr);
        Assert.Equal("", (await box.Skiff(["images", "-q"])).AssertExit(0).Stdout);
    }

    [Fact]
    public async Task Login_push_then_pull_through_a_loopback_registry_with_auth()
    {
        using var box = install.NewSandbox(Mode.Root);
        await using var registry = await RegistryServer.StartAsync(RegistryFixture.User, RegistryFixture.Password);
        string name = $"{registry.Host}/{Unique("api")}/bb";
        string id = await ImportBusybox(box, name + ":v1", "CMD [\"echo\", \"pulled through the api\"]");
        await using var daemon = await SkiffDaemon.StartAsync(box);

        var denied = await daemon.Docker("push", name + ":v1");
        Assert.Equal(1, denied.ExitCode);
        var wrong = await daemon.DockerWith("nope\n", "login", "-u", RegistryFixture.User, "--password-stdin", registry.Host);
        Assert.Equal(1, wrong.ExitCode);
        // The CLI keeps the credentials and sends them with every pull and push (X-Registry-Auth).
        (await daemon.DockerWith(RegistryFixture.Password + "\n", "login", "-u", RegistryFixture.User, "--password-stdin", registry.Host)).AssertExit(0);
        var push = (await daemon.Docker("push", name + ":v1")).AssertExit(0);
        Assert.Contains($"The push refers to repository [{name}]", push.Stdout);
        Assert.Matches(@"v1: digest: sha256:[0-9a-f]{64} size: \d+", push.Stdout);
        (await daemon.Docker("rmi", name + ":v1")).AssertExit(0);

        var pull = (await daemon.Docker("pull", name + ":v1")).AssertExit(0);
        var again = (await daemon.Docker("pull", name + ":v1")).AssertExit(0);
        var missing = await daemon.Docker("pull", $"{registry.Host}/{Unique("nope")}");

        Assert.Contains("v1: Pulling from " + name, pull.Stdout);
        Assert.Contains("Status: Downloaded newer image for " + name + ":v1", pull.Stdout);
        Assert.Contains("Status: Image is up to date for " + name + ":v1", again.Stdout);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("not found", missing.Stderr);
        Assert.Equal(id + "\n", (await daemon.Docker("images", "-q", "--no-trunc")).AssertExit(0).Stdout);
        var digests = (await daemon.Docker("images", "--digests", "--format", "{{.Digest}}")).AssertExit(0);
        Assert.StartsWith("sha256:", digests.Stdout);
        Assert.Equal("pulled through the api\n", (await box.Skiff(["run", "--rm", name + ":v1"])).AssertExit(0).Stdout);

        (await daemon.Docker("logout", registry.Host)).AssertExit(0);
        (await daemon.Docker("rmi", name + ":v1")).AssertExit(0);
        Assert.Equal(1, (await daemon.Docker("pull", name + ":v1")).ExitCode);
    }

    [Fact]
    public async Task Import_history_and_prune()
    {
        using var box = install.NewSandbox(Mode.Root);
        await using var daemon = await SkiffDaemon.StartAsync(box);
        string tar = await LayerTarballs.BusyboxAsync(box);

        var imported = (await daemon.Docker("import", "--change", "CMD [\"echo\", \"imported\"]", "-m", "by docker import", tar, "imp:1")).AssertExit(0);
        string id = imported.Stdout.Trim();
        Assert.Matches("^sha256:[0-9a-f]{64}$", id);
        Assert.Equal("imported\n", (await box.Skiff(["run", "--rm", "imp:1"])).AssertExit(0).Stdout);
        var history = (await daemon.Docker("history", "--no-trunc", "--format", "{{.ID}} {{.Comment}}", "imp:1")).AssertExit(0);
        Assert.Equal($"{id} by docker import\n", history.Stdout);

        // A second import under the same name leaves the first dangling: prune takes it, prune -a the rest.
        (await daemon.Docker("import", "--change", "CMD [\"true\"]", tar, "imp:1")).AssertExit(0);
        Assert.Equal(2, (await daemon.Docker("images", "-q")).AssertExit(0).StdoutLines.Count);
        var dangling = (await daemon.Docker("images", "-q", "--no-trunc", "--filter", "dangling=true")).AssertExit(0);
        Assert.Equal(id + "\n", dangling.Stdout);
        var prune = (await daemon.Docker("image", "prune", "-f")).AssertExit(0);
        Assert.Contains("deleted: " + id, prune.Stdout);
        Assert.Single((await daemon.Docker("images", "-q")).AssertExit(0).StdoutLines);
        var all = (await daemon.Docker("image", "prune", "-a", "-f")).AssertExit(0);
        Assert.Contains("untagged: imp:1", all.Stdout);
        Assert.Empty((await daemon.Docker("images", "-q")).AssertExit(0).StdoutLines);
    }

    [Fact]
    public async Task Tcp_only_when_asked_with_a_warning_and_sigint_stops_it()
    {
        using var box = install.NewSandbox(Mode.Root);
        int port = RegistryServer.FreePort();
        using var serve = box.StartSkiff(["serve", "--host", $"tcp://127.0.0.1:{port}"]);
        await serve.WaitForLineAsync($"Listening on tcp://127.0.0.1:{port}");

        var version = (await HostProcess.RunAsync(["docker", "-H", $"tcp://127.0.0.1:{port}", "version", "--format", "{{.Server.Version}}"],
            environment: new Dictionary<string, string?> { ["DOCKER_CONFIG"] = box.Dir })).AssertExit(0);
        Libc.Kill(serve.Pid, Libc.SIGINT);
        var exit = await serve.WaitForExitAsync();

        Assert.False(string.IsNullOrWhiteSpace(version.Stdout));
        Assert.Equal(0, exit.ExitCode);
        Assert.Contains("unauthenticated", exit.Stderr);
    }

    [Fact]
    public async Task Save_piped_into_load_and_save_to_a_file_round_trip()
    {
        using var box = install.NewSandbox(Mode.Root);
        string id = await ImportBusybox(box, "bb:saved");
        await using var daemon = await SkiffDaemon.StartAsync(box);
        string file = Path.Combine(box.Dir, "saved.tar");

        (await daemon.Docker("save", "-o", file, "bb:saved")).AssertExit(0);
        (await daemon.Docker("rmi", "bb:saved")).AssertExit(0);
        var load = (await daemon.Docker("load", "-i", file)).AssertExit(0);
        Assert.Equal("Loaded image: bb:saved\n", load.Stdout);

        (await daemon.Docker("tag", "bb:saved", "bb:copy")).AssertExit(0);
        (await daemon.Docker("rmi", "bb:saved")).AssertExit(0);
        var piped = (await daemon.Shell("docker save bb:copy | docker load")).AssertExit(0);
        Assert.Equal("Loaded image: bb:copy\n", piped.Stdout);
        Assert.Equal(id + "\n", (await daemon.Docker("images", "-q", "--no-trunc")).AssertExit(0).Stdout);

        var bad = await daemon.DockerWith("this is not a tar archive\n", "load");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("archive", bad.Stderr);
        var missing = await daemon.Docker("save", "-o", file, "nothere:1");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("No such image: nothere:1", missing.Stderr);
    }

    [Fact]
    public async Task Ping_answers_head_and_unversioned_paths_work()
    {
        using var box = install.NewSandbox(Mode.Root);
        await ImportBusybox(box, "bb:curl");
        await using var daemon = await SkiffDaemon.StartAsync(box);

        var head = (await HostProcess.RunAsync(["curl", "-sS", "-I", "--unix-socket", daemon.SocketPath, "http://docker/_ping"])).AssertExit(0);
        var bare = (await HostProcess.RunAsync(["curl", "-sS", "--unix-socket", daemon.SocketPath, "http://docker/images/json"])).AssertExit(0);
        var versioned = (await HostProcess.RunAsync(["curl", "-sS", "--unix-socket", daemon.SocketPath, "http://docker/v1.41/images/json"])).AssertExit(0);
        var unknown = (await HostProcess.RunAsync(["curl", "-sS", "-w", "%{http_code}", "--unix-socket", daemon.SocketPath, "http://docker/v1.47/no/such/route"])).AssertExit(0);

        Assert.StartsWith("HTTP/1.1 200 OK", head.Stdout);
        Assert.Contains("API-Version: 1.47", head.Stdout);
        Assert.Contains("OSType: linux", head.Stdout);
        Assert.Contains("Content-Length: 2", head.Stdout);
        Assert.Contains("\"RepoTags\":[\"bb:curl\"]", bare.Stdout);
        Assert.Equal(bare.Stdout, versioned.Stdout);
        Assert.Equal("{\"message\":\"page not found\"}\n404", unknown.Stdout);
    }

    [Fact]
    public async Task The_socket_is_0600_a_second_daemon_is_refused_and_a_stale_socket_is_replaced()
    {
        using var box = install.NewSandbox(Mode.Root);
        var daemon = await SkiffDaemon.StartAsync(box);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(daemon.SocketPath));

        var second = await box.Skiff(["serve", "--host", daemon.Host]);
        Assert.Equal(125, second.ExitCode);
        Assert.Contains("another daemon is listening on " + daemon.SocketPath, second.Stderr);
        (await daemon.Docker("version")).AssertExit(0);

        // Killed without a chance to clean up: the socket stays, and the next daemon takes its place.
        Libc.Kill(daemon.Pid, Libc.SIGKILL);
        await ProcTableWaitGone(daemon.Pid);
        Assert.True(File.Exists(daemon.SocketPath));
        await daemon.DisposeAsync();
        await using var next = await SkiffDaemon.StartAsync(box);
        (await next.Docker("version")).AssertExit(0);

        File.WriteAllText(Path.Combine(box.Dir, "not-a-socket"), "data");
        var refused = await box.Skiff(["serve", "--host", "unix://" + Path.Combine(box.Dir, "not-a-socket")]);
        Assert.Equal(125, refused.ExitCode);
        Assert.Contains("is not a socket", refused.Stderr);
        Assert.Equal("data", File.ReadAllText(Path.Combine(box.Dir, "not-a-socket")));
    }

    private static async Task ProcTableWaitGone(int pid)
    {
        for (int i = 0; i < 500 && Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z "); i++)
        {
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Rootless_the_default_socket_is_in_the_users_runtime_directory_and_only_theirs()
    {
        using var box = install.NewSandbox(Mode.Rootless);
        var user = HostUsers.Get(HostUsers.WithSubIds);
        // A runtime directory of the test's own, as pam_systemd would make it: 0700, the user's.
        string runtime = Path.Combine(box.Dir, "xdg");
        Directory.CreateDirectory(runtime);
        File.SetUnixFileMode(runtime, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Libc.Chown(runtime, user.Uid, user.Gid);
        var env = new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = runtime };
        string expected = Path.Combine(runtime, "skiff", "skiff.sock");
        await ImportBusybox(box, "bb:rootless");
        try
        {
            await using (var daemon = await SkiffDaemon.StartAsync(box, expectedSocket: expected, environment: env))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(expected));
                var stat = (await HostProcess.RunAsync(["stat", "-c", "%u %F", expected])).AssertExit(0);
                Assert.Equal($"{user.Uid} socket\n", stat.Stdout);
                var info = (await daemon.Docker("info", "--format", "{{json .SecurityOptions}}")).AssertExit(0);
                Assert.Contains("name=rootless", info.Stdout);
                var images = (await daemon.Docker("images", "--format", "{{.Repository}}:{{.Tag}}")).AssertExit(0);
                Assert.Equal("bb:rootless\n", images.Stdout);
                // Another user cannot connect: the socket is 0600.
                var other = await HostProcess.RunAsync(["runuser", "-u", HostUsers.WithoutSubIds, "--",
                    "curl", "-sS", "--unix-socket", expected, "http://docker/_ping"]);
                Assert.NotEqual(0, other.ExitCode);
            }
        }
        finally
        {
            StopKeeper(runtime);
        }
    }

    /// <summary>The rootless daemon started a user namespace keeper in the test's runtime directory: stop that one, by its pid.</summary>
    private static void StopKeeper(string runtime)
    {
        string pidFile = Path.Combine(runtime, "skiff", "userns-keeper.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim().Split(' ', '\n')[0], out int pid) && pid > 0)
        {
            try
            {
                Libc.Kill(pid, Libc.SIGKILL);
            }
            catch (InvalidOperationException)
            {
                // Gone already.
            }
        }
    }

    [Fact]
    public async Task Memory_stays_small_idle_and_after_hundreds_of_requests()
    {
        using var box = install.NewSandbox(Mode.Root);
        await ImportBusybox(box, "bb:mem");
        await using var daemon = await SkiffDaemon.StartAsync(box);
        await Task.Delay(500);
        long idle = daemon.RssKiB();

        using (var http = new HttpClient(new SocketsHttpHandler
               {
                   ConnectCallback = async (_, ct) =>
                   {
                       var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                       await s.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(daemon.SocketPath), ct);
                       return new System.Net.Sockets.NetworkStream(s, ownsSocket: true);
                   },
                   MaxConnectionsPerServer = 8,
               }))
        {
            string[] paths = ["/_ping", "/v1.47/version", "/v1.47/info", "/v1.47/images/json", "/v1.47/images/bb:mem/json", "/v1.47/nothing"];
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async worker =>
            {
                for (int i = 0; i < 60; i++)
                {
                    using var r = await http.GetAsync("http://docker" + paths[(worker + i) % paths.Length]);
                    await r.Content.ReadAsByteArrayAsync();
                }
            }));
        }
        for (int i = 0; i < 20; i++)
        {
            (await daemon.Docker("images", "-q")).AssertExit(0);
        }
        long loaded = daemon.RssKiB();
        output.WriteLine($"skiff serve RSS: idle {idle / 1024.0:0.0} MiB, after 500 requests {loaded / 1024.0:0.0} MiB");

        Assert.True(idle <= 30 * 1024, $"idle RSS {idle} KiB is over 30 MiB");
        Assert.True(loaded <= 60 * 1024, $"RSS after 500 requests {loaded} KiB is over 60 MiB");
    }
}
