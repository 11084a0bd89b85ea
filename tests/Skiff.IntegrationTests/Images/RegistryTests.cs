using System.Text.RegularExpressions;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Images;

/// <summary>push, pull, login and logout against Debian's docker-registry on 127.0.0.1; skopeo as the independent client.</summary>
[Collection(SkiffCollection.Name)]
public sealed partial class RegistryTests(SkiffInstall install, RegistryFixture registries) : IClassFixture<RegistryFixture>
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(60);

    [GeneratedRegex(@"digest: (sha256:[0-9a-f]{64})")]
    private static partial Regex PushedDigest();

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    private async Task<string> ImportBusybox(Sandbox box, string name, string cmd, bool uniqueLayer = false)
    {
        string tar = await LayerTarballs.BusyboxAsync(box, Unique("bb") + ".tar");
        if (uniqueLayer)
        {
            // skopeo's blob-info cache remembers other encodings of a layer it has seen: a layer of its own keeps tests apart.
            string marker = Unique("marker");
            await File.WriteAllTextAsync(Path.Combine(box.Dir, marker), marker);
            (await HostProcess.RunAsync(["tar", "-C", box.Dir, "-rf", tar, marker])).AssertExit(0);
        }
        return (await box.Skiff(["import", "-c", cmd, tar, name])).AssertExit(0).Stdout.Trim();
    }

    private static async Task<string> Push(Sandbox box, string name, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var push = (await box.Skiff(["push", name], environment: environment)).AssertExit(0);
        var m = PushedDigest().Match(push.Stdout);
        Assert.True(m.Success, push.ToString());
        return m.Groups[1].Value;
    }

    [Theory, BothModes]
    public async Task An_image_pushed_then_removed_pulls_back_runs_and_keeps_its_digest(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string name = $"{registries.Open.Host}/{Unique("roundtrip")}:1";
        string id = await ImportBusybox(box, name, "CMD [\"echo\", \"hello from the registry\"]");
        string digest = await Push(box, name);
        var again = (await box.Skiff(["push", name])).AssertExit(0);
        Assert.Contains("Layer already exists", again.Stdout);
        (await box.Skiff(["rmi", name])).AssertExit(0);

        var pull = (await box.Skiff(["pull", name])).AssertExit(0);

        Assert.Contains("Digest: " + digest, pull.Stdout);
        Assert.Equal(id, (await box.Skiff(["images", "-q", "--no-trunc"])).AssertExit(0).Stdout.Trim());
        Assert.Equal("hello from the registry\n", (await box.Skiff(["run", "--rm", name])).AssertExit(0).Stdout);
        string repoDigest = name[..name.LastIndexOf(':')] + "@" + digest;
        Assert.Contains($"\"{repoDigest}\"", (await box.Skiff(["image", "inspect", name])).AssertExit(0).Stdout);
        var inspect = (await HostProcess.RunAsync(["skopeo", "inspect", "--tls-verify=false", "docker://" + name], timeout: Slow)).AssertExit(0);
        Assert.Contains($"\"Digest\": \"{digest}\"", inspect.Stdout);
    }

    [Theory, BothModes]
    public async Task Pull_q_prints_only_the_image_id_and_pull_by_digest_works(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string repo = $"{registries.Open.Host}/{Unique("quiet")}";
        string id = await ImportBusybox(box, repo + ":v1", "CMD [\"true\"]");
        string digest = await Push(box, repo + ":v1");
        (await box.Skiff(["rmi", repo + ":v1"])).AssertExit(0);

        var quiet = (await box.Skiff(["pull", "-q", repo + "@" + digest])).AssertExit(0);

        Assert.Equal(id + "\n", quiet.Stdout);
        (await box.Skiff(["run", "--rm", repo + "@" + digest])).AssertExit(0);
    }

    [Theory, BothModes]
    public async Task An_image_skopeo_pushed_is_pulled_and_run(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        await ImportBusybox(box, "local/made:1", "CMD [\"echo\", \"pushed by skopeo\"]", uniqueLayer: true);
        string archive = Path.Combine(LayerTarballs.WritableDir(box), "made.tar");
        (await box.Skiff(["save", "-o", archive, "local/made:1"])).AssertExit(0);
        string name = $"{registries.Open.Host}/skopeo/{Unique("made")}:2";
        // Docker schema 2 with gzip layers: skopeo compresses the archive's plain layers on the way.
        (await HostProcess.RunAsync(["skopeo", "copy", "-q", "--format", "v2s2", "--dest-tls-verify=false", "docker-archive:" + archive, "docker://" + name],
            timeout: Slow)).AssertExit(0);

        (await box.Skiff(["pull", name])).AssertExit(0);

        Assert.Equal("pushed by skopeo\n", (await box.Skiff(["run", "--rm", name])).AssertExit(0).Stdout);
        string raw = (await HostProcess.RunAsync(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + name], timeout: Slow)).AssertExit(0).Stdout;
        Assert.Contains("application/vnd.docker.distribution.manifest.v2+json", raw);
        Assert.Contains("application/vnd.docker.image.rootfs.diff.tar.gzip", raw);
    }

    [Fact]
    public async Task Zstd_layers_pushed_by_skopeo_are_pulled_and_run()
    {
        using var box = install.NewSandbox(Mode.Root);
        await ImportBusybox(box, "local/zstd:1", "CMD [\"echo\", \"zstd layers\"]", uniqueLayer: true);
        string oci = Path.Combine(LayerTarballs.WritableDir(box), "zstd.tar");
        (await box.Skiff(["save", "--format", "oci-archive", "-o", oci, "local/zstd:1"])).AssertExit(0);
        string name = $"{registries.Open.Host}/{Unique("zstd")}:1";
        (await HostProcess.RunAsync(["skopeo", "copy", "-q", "--format", "oci", "--dest-compress-format", "zstd", "--dest-tls-verify=false",
            "oci-archive:" + oci, "docker://" + name], timeout: Slow)).AssertExit(0);
        Assert.Contains("tar+zstd", (await HostProcess.RunAsync(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + name], timeout: Slow)).AssertExit(0).Stdout);

        (await box.Skiff(["pull", name])).AssertExit(0);

        Assert.Equal("zstd layers\n", (await box.Skiff(["run", "--rm", name])).AssertExit(0).Stdout);
    }

    [Theory, BothModes]
    public async Task Login_is_required_checked_and_forgotten_on_logout(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string config = LayerTarballs.WritableDir(box);
        var env = new Dictionary<string, string?> { ["XDG_CONFIG_HOME"] = config, ["DOCKER_CONFIG"] = Path.Combine(config, "docker") };
        string host = registries.Auth.Host;
        string name = $"{host}/{Unique("private")}:1";
        await ImportBusybox(box, name, "CMD [\"echo\", \"private\"]");

        var denied = await box.Skiff(["push", name], environment: env);
        denied.AssertExit(125);
        Assert.Equal($"skiff: authentication required: run skiff login {host}\n", denied.Stderr);

        var wrong = await box.Skiff(["login", "-u", RegistryFixture.User, "-p", "wrong", host], environment: env);
        wrong.AssertExit(125);
        Assert.Single(wrong.StderrLines);
        Assert.False(File.Exists(Path.Combine(config, "skiff", "auth.json")));

        var ok = (await box.Skiff(["login", "-u", RegistryFixture.User, "--password-stdin", host], stdin: RegistryFixture.Password + "\n", environment: env)).AssertExit(0);
        Assert.Contains("Login Succeeded", ok.Stdout);
        Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(Path.Combine(config, "skiff", "auth.json")));

        await Push(box, name, env);
        (await box.Skiff(["rmi", name])).AssertExit(0);
        (await box.Skiff(["pull", name], environment: env)).AssertExit(0);
        Assert.Equal("private\n", (await box.Skiff(["run", "--rm", name])).AssertExit(0).Stdout);

        (await box.Skiff(["logout", host], environment: env)).AssertExit(0);
        (await box.Skiff(["rmi", name])).AssertExit(0);
        var again = await box.Skiff(["pull", name], environment: env);
        again.AssertExit(125);
        Assert.Equal($"skiff: authentication required: run skiff login {host}\n", again.Stderr);
    }

    [Fact]
    public async Task Credentials_in_dockers_config_json_are_used()
    {
        using var box = install.NewSandbox(Mode.Root);
        string docker = Path.Combine(box.Dir, "docker");
        Directory.CreateDirectory(docker);
        string auth = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(RegistryFixture.User + ":" + RegistryFixture.Password));
        await File.WriteAllTextAsync(Path.Combine(docker, "config.json"), "{\"auths\": {\"" + registries.Auth.Host + "\": {\"auth\": \"" + auth + "\"}}}");
        var env = new Dictionary<string, string?> { ["DOCKER_CONFIG"] = docker, ["XDG_CONFIG_HOME"] = Path.Combine(box.Dir, "none") };
        string name = $"{registries.Auth.Host}/{Unique("dockercfg")}:1";
        await ImportBusybox(box, name, "CMD [\"true\"]");

        await Push(box, name, env);
        (await box.Skiff(["rmi", name])).AssertExit(0);
        (await box.Skiff(["pull", name], environment: env)).AssertExit(0);
    }

    private async Task<string[]> RefusedPull(Sandbox box, string name, string expected)
    {
        var before = LayerTarballs.StoreSnapshot(box);
        var pull = await box.Skiff(["pull", name]);
        pull.AssertExit(125);
        Assert.Single(pull.StderrLines);
        Assert.Contains(expected, pull.Stderr);
        Assert.Equal(before, LayerTarballs.StoreSnapshot(box));
        return before;
    }

    [Theory, BothModes]
    public async Task A_registry_that_is_down_is_a_clear_error(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        await ImportBusybox(box, "keep:1", "CMD [\"true\"]");
        string host = $"127.0.0.1:{RegistryServer.FreePort()}";

        await RefusedPull(box, $"{host}/nothing:1", $"skiff: cannot reach registry {host}: connection refused");
    }

    [Theory, BothModes]
    public async Task A_missing_tag_is_not_found(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        await ImportBusybox(box, "keep:1", "CMD [\"true\"]");
        string name = $"{registries.Open.Host}/{Unique("missing")}:nope";

        await RefusedPull(box, name, $"skiff: manifest for {name} not found");
    }

    [Theory, BothModes]
    public async Task A_corrupted_blob_is_refused_and_the_store_is_unchanged(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        await ImportBusybox(box, "keep:1", "CMD [\"true\"]");
        string name = $"{registries.Open.Host}/{Unique("corrupt")}:1";
        string layer = LayerTarballs.Write(box, Unique("layer") + ".tar", t =>
        {
            LayerTarballs.File(t, "marker", Guid.NewGuid().ToString());
            LayerTarballs.File(t, "more", new string('x', 5000));
        });
        (await box.Skiff(["import", layer, name])).AssertExit(0);
        await Push(box, name);
        var inspect = (await HostProcess.RunAsync(["skopeo", "inspect", "--tls-verify=false", "docker://" + name], timeout: Slow)).AssertExit(0);
        string blob = Regex.Match(inspect.Stdout, "\"Layers\": \\[\\s*\"(sha256:[0-9a-f]{64})\"").Groups[1].Value;
        byte[] data = await File.ReadAllBytesAsync(registries.Open.BlobPath(blob));
        data[^1] ^= 0xff;
        data[data.Length / 2] ^= 0xff;
        await File.WriteAllBytesAsync(registries.Open.BlobPath(blob), data);
        (await box.Skiff(["rmi", name])).AssertExit(0);

        await RefusedPull(box, name, "digest mismatch");
    }

    [Theory, BothModes]
    public async Task A_pull_killed_with_sigkill_completes_when_run_again(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string name = $"{registries.Open.Host}/{Unique("killed")}:1";
        string layer = LayerTarballs.Write(box, Unique("big") + ".tar", t =>
        {
            // Over the client's 32 MiB chunk size: the push goes up in PATCH chunks.
            var noise = new byte[40 << 20];
            Random.Shared.NextBytes(noise);
            t.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "noise") { DataStream = new MemoryStream(noise) });
            LayerTarballs.File(t, "hello", "still here\n");
        });
        (await box.Skiff(["import", layer, name])).AssertExit(0);
        string digest = await Push(box, name);
        (await box.Skiff(["rmi", name])).AssertExit(0);

        // Killed at a few points of its life (start-up, download, unpack: loopback is fast, so where exactly varies).
        foreach (int delay in new[] { 40, 120, 250 })
        {
            using var started = box.StartSkiff(["pull", name]);
            int skiff = started.Pid;
            if (mode != Mode.Root)
            {
                // Rootless, skiff is runuser's child; over loopback it may be done before we see it.
                var seen = box.FindSkiffAsync(started);
                var done = started.WaitForExitAsync(TimeSpan.FromSeconds(30));
                if (await Task.WhenAny(seen, done) == seen && seen.IsCompletedSuccessfully)
                {
                    skiff = (await seen).Pid;
                }
                else
                {
                    _ = seen.ContinueWith(t => t.Exception, TaskScheduler.Default); // observed: it finished first
                }
            }
            await Task.Delay(delay);
            try
            {
                using var p = System.Diagnostics.Process.GetProcessById(started.Pid);
                p.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // It finished first.
            }
            await started.WaitForExitAsync();
            // Rootless, skiff is runuser's child: gone only once the kernel has torn it down.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Directory.Exists($"/proc/{skiff}") && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(20);
            }
            if ((await box.Skiff(["images", "-q"])).AssertExit(0).Stdout.Length > 0)
            {
                (await box.Skiff(["rmi", name])).AssertExit(0);
            }
        }

        (await box.Skiff(["pull", name])).AssertExit(0);

        var left = LayerTarballs.StoreSnapshot(box).Where(p => p.Contains("/ingest/") || p.Contains("/layers/.tmp-")).ToList();
        Assert.True(left.Count == 0, "left behind: " + string.Join(", ", left) + "\n" + string.Join("\n", File.ReadAllLines("/proc/self/status").Where(l => l.StartsWith("Pid"))));
        Assert.Contains(digest, (await box.Skiff(["image", "inspect", name])).AssertExit(0).Stdout);
    }
}
