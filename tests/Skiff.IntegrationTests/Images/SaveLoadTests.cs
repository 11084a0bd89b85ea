using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Images;

/// <summary>save and load: Docker and OCI archives, skopeo as the independent client, multi-layer images with whiteouts.</summary>
[Collection(SkiffCollection.Name)]
public sealed class SaveLoadTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task A_docker_archive_made_by_skopeo_loads_and_runs(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string id = (await box.Skiff(["import", "-c", "CMD [\"echo\", \"hello from skopeo\"]", await LayerTarballs.BusyboxAsync(box), "bb:1"])).AssertExit(0).Stdout.Trim();
        string oci = Path.Combine(LayerTarballs.WritableDir(box), "bb-oci.tar");
        (await box.Skiff(["save", "--format", "oci-archive", "-o", oci, "bb:1"])).AssertExit(0);
        Assert.Contains("\"Layers\"", (await HostProcess.RunAsync(["skopeo", "inspect", "oci-archive:" + oci])).AssertExit(0).Stdout);
        string docker = Path.Combine(box.Dir, "skopeo-docker.tar");
        (await HostProcess.RunAsync(["skopeo", "copy", "-q", "oci-archive:" + oci, "docker-archive:" + docker + ":skopeo/made:v1"], timeout: TimeSpan.FromSeconds(60))).AssertExit(0);
        File.SetUnixFileMode(docker, (UnixFileMode)0b110_100_100);
        (await box.Skiff(["rmi", "bb:1"])).AssertExit(0);

        var loaded = (await box.Skiff(["load", "-i", docker])).AssertExit(0);

        Assert.Equal("Loaded image: skopeo/made:v1\n", loaded.Stdout);
        Assert.Equal(id, (await box.Skiff(["images", "-q", "--no-trunc"])).AssertExit(0).Stdout.Trim());
        Assert.Equal("hello from skopeo\n", (await box.Skiff(["run", "--rm", "skopeo/made:v1"])).AssertExit(0).Stdout);
    }

    [Theory, BothModes]
    public async Task Skiffs_docker_archive_is_read_by_skopeo(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        (await box.Skiff(["import", await LayerTarballs.BusyboxAsync(box), "bb:2"])).AssertExit(0);
        string docker = Path.Combine(LayerTarballs.WritableDir(box), "saved.tar");

        (await box.Skiff(["save", "-o", docker, "bb:2"])).AssertExit(0);

        var inspect = (await HostProcess.RunAsync(["skopeo", "inspect", "docker-archive:" + docker])).AssertExit(0);
        Assert.Contains("\"Architecture\": \"amd64\"", inspect.Stdout);
        string dir = Path.Combine(box.Dir, "copied");
        (await HostProcess.RunAsync(["skopeo", "copy", "-q", "docker-archive:" + docker, "dir:" + dir], timeout: TimeSpan.FromSeconds(60))).AssertExit(0);
    }

    [Theory, BothModes]
    public async Task Layers_stack_with_whiteouts_and_opaque_directories(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        byte[] bottom = Layer(t =>
        {
            LayerTarballs.File(t, "etc/old", "old");
            LayerTarballs.File(t, "etc/kept", "kept\n");
            LayerTarballs.File(t, "opq/a", "a");
        });
        byte[] top = Layer(t =>
        {
            LayerTarballs.File(t, "etc/.wh.old", "");
            LayerTarballs.File(t, "opq/.wh..wh..opq", "");
            LayerTarballs.File(t, "opq/b", "b");
        });
        byte[] busybox = await File.ReadAllBytesAsync(await LayerTarballs.BusyboxAsync(box));
        string archive = DockerArchive(box, "layers.tar", "stacked:1", [busybox, bottom, top], cmd: ["sh", "-c", "ls /etc/old 2>&1; cat /etc/kept; ls /opq"]);

        var loaded = (await HostProcess.RunAsync(["sh", "-c", Shell.Join(box.Argv(["load"])) + " < " + archive])).AssertExit(0);
        Assert.Equal("Loaded image: stacked:1\n", loaded.Stdout);

        var run = (await box.Skiff(["run", "--rm", "stacked:1"])).AssertExit(0);
        Assert.Equal("ls: /etc/old: No such file or directory\nkept\nb\n", run.Stdout);
        Assert.Equal(3, Directory.GetDirectories(Path.Combine(box.StorageRoot, "layers")).Length);
    }

    [Theory, BothModes]
    public async Task A_layer_whose_diff_id_does_not_match_is_refused_and_nothing_is_stored(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        byte[] layer = Layer(t => LayerTarballs.File(t, "hello", "world"));
        string archive = DockerArchive(box, "bad.tar", "bad:1", [layer], cmd: ["true"], diffIds: ["sha256:" + new string('0', 64)]);

        var result = await box.Skiff(["load", "-i", archive]);

        result.AssertExit(125);
        Assert.Single(result.StderrLines);
        Assert.Contains("diffID mismatch", result.Stderr);
        Assert.DoesNotContain(LayerTarballs.StoreSnapshot(box), p => p.Contains("/layers/sha256") || p.Contains("/blobs/sha256/") || p.Contains("/ingest/"));
        Assert.Single((await box.Skiff(["images"])).AssertExit(0).StdoutLines);
    }

    [Theory, BothModes]
    public async Task Not_an_archive_is_refused(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string junk = Path.Combine(box.Dir, "junk.tar");
        await File.WriteAllTextAsync(junk, "this is not a tar archive at all, but long enough to have a header......." + new string('x', 600));
        File.SetUnixFileMode(junk, (UnixFileMode)0b110_100_100);

        var result = await box.Skiff(["load", "-i", junk]);

        result.AssertExit(125);
        Assert.Single(result.StderrLines);
        Assert.StartsWith("skiff: ", result.Stderr);
        Assert.DoesNotContain(LayerTarballs.StoreSnapshot(box), p => p.Contains("/ingest/") || p.Contains("/blobs/sha256/"));
    }

    private static byte[] Layer(Action<TarWriter> entries)
    {
        using var ms = new MemoryStream();
        using (var tar = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            entries(tar);
        }
        return ms.ToArray();
    }

    private static string JsonArray(IEnumerable<string> values)
    {
        using var ms = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(ms))
        {
            w.WriteStartArray();
            foreach (var v in values)
            {
                w.WriteStringValue(v);
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static string Sha(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>A Docker archive in the classic layout: manifest.json, HEX.json, HEX/layer.tar.</summary>
    private static string DockerArchive(Sandbox box, string name, string tag, byte[][] layers, string[] cmd, string[]? diffIds = null)
    {
        diffIds ??= layers.Select(Sha).ToArray();
        string cmdJson = JsonArray(cmd);
        string diffJson = JsonArray(diffIds);
        string config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
            + "\"config\":{\"Cmd\":" + cmdJson + ",\"Env\":[\"PATH=/bin\"]},"
            + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":" + diffJson + "}}";
        byte[] configBytes = Encoding.UTF8.GetBytes(config);
        string configName = Sha(configBytes)[7..] + ".json";
        var layerNames = layers.Select(l => Sha(l)[7..] + "/layer.tar").ToArray();
        string manifest = "[{\"Config\":\"" + configName + "\",\"RepoTags\":[\"" + tag + "\"],\"Layers\":"
            + JsonArray(layerNames) + "}]";
        string path = Path.Combine(box.Dir, name);
        using (var f = File.Create(path))
        using (var tar = new TarWriter(f, TarEntryFormat.Pax))
        {
            void Add(string entry, byte[] data) =>
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, entry) { DataStream = new MemoryStream(data), Mode = (UnixFileMode)0b110_100_100 });
            for (int i = 0; i < layers.Length; i++)
            {
                Add(layerNames[i], layers[i]);
            }
            Add(configName, configBytes);
            Add("manifest.json", Encoding.UTF8.GetBytes(manifest));
        }
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
        return path;
    }
}
