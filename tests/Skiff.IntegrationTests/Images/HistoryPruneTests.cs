using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Images;

/// <summary>history, image prune, and rmi refused while a container runs on the image, end to end.</summary>
[Collection(SkiffCollection.Name)]
public sealed class HistoryPruneTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task History_shows_the_import_entry_as_a_docker_table(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string tar = await LayerTarballs.BusyboxAsync(box);
        string id = (await box.Skiff(["import", "-m", "first", tar, "hist:1"])).AssertExit(0).Stdout.Trim();

        var table = (await box.Skiff(["history", "hist:1"])).AssertExit(0);
        var lines = table.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Matches("^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$", lines[0]);
        Assert.StartsWith(id[7..19] + " ", lines[1]);
        Assert.Contains("skiff import busybox.tar", lines[1]);
        Assert.Matches(@"\d(\.\d+)?MB +first$", lines[1]);

        var quiet = (await box.Skiff(["image", "history", "-q", "--no-trunc", "hist:1"])).AssertExit(0);
        Assert.Equal(id + "\n", quiet.Stdout);

        var json = (await box.Skiff(["history", "--format", "json", "hist:1"])).AssertExit(0);
        using var doc = System.Text.Json.JsonDocument.Parse(json.Stdout);
        Assert.Equal("first", doc.RootElement.GetProperty("Comment").GetString());
        Assert.Equal(id[7..19], doc.RootElement.GetProperty("ID").GetString());

        var missing = await box.Skiff(["history", "nosuch:1"]);
        Assert.Equal(125, missing.ExitCode);
        Assert.Contains("no such image", missing.Stderr);
    }

    [Theory, BothModes]
    public async Task Prune_removes_dangling_images_and_with_all_every_unused_one(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string tar = await LayerTarballs.BusyboxAsync(box);
        string kept = (await box.Skiff(["import", "-c", "CMD [\"sh\"]", tar, "keep:1"])).AssertExit(0).Stdout.Trim();
        string dangling = (await box.Skiff(["import", "-c", "CMD [\"true\"]", tar, "moved:1"])).AssertExit(0).Stdout.Trim();
        // Moving the name leaves the first image dangling.
        (await box.Skiff(["import", "-c", "CMD [\"false\"]", tar, "moved:1"])).AssertExit(0);

        var declined = (await box.Skiff(["image", "prune"], stdin: "")).AssertExit(0);
        Assert.StartsWith("WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ", declined.Stdout);
        Assert.Contains(dangling[7..19], (await box.Skiff(["images", "-q"])).AssertExit(0).Stdout);

        var pruned = (await box.Skiff(["image", "prune"], stdin: "y\n")).AssertExit(0);
        Assert.Contains("Deleted Images:\ndeleted: " + dangling + "\n\nTotal reclaimed space: ", pruned.Stdout);
        var left = (await box.Skiff(["images", "-q", "--no-trunc"])).AssertExit(0).Stdout;
        Assert.DoesNotContain(dangling, left);
        Assert.Contains(kept, left);

        var nothing = (await box.Skiff(["image", "prune", "-f"])).AssertExit(0);
        Assert.Equal("Total reclaimed space: 0B\n", nothing.Stdout);

        var all = (await box.Skiff(["image", "prune", "-a", "-f"])).AssertExit(0);
        Assert.Contains("untagged: keep:1\n", all.Stdout);
        Assert.Contains("deleted: " + kept + "\n", all.Stdout);
        Assert.Matches(@"Total reclaimed space: \d(\.\d+)?MB\n$", all.Stdout);
        Assert.Equal("", (await box.Skiff(["images", "-q"])).AssertExit(0).Stdout);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(box.StorageRoot, "layers")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(box.StorageRoot, "blobs", "sha256")));
    }

    [Theory, BothModes]
    public async Task Rmi_and_prune_leave_an_image_a_running_container_uses(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        string tar = await LayerTarballs.BusyboxAsync(box);
        string id = (await box.Skiff(["import", tar, "busy:1"])).AssertExit(0).Stdout.Trim();

        using var container = box.StartSkiff(["run", "--rm", "busy:1", "sh", "-c", "echo ready; sleep 4"]);
        await container.WaitForLineAsync("ready");

        // The sandbox's Skiff() insists no container is left: while this one runs, call the binary directly.
        Task<ProcessResult> Skiff(params string[] args) => HostProcess.RunAsync(box.Argv(args), workingDirectory: box.Dir);
        var refused = await Skiff("rmi", "busy:1");
        Assert.Equal(125, refused.ExitCode);
        Assert.Matches($"^skiff: conflict: unable to remove repository reference \"busy:1\" \\(must force\\) - container [0-9a-f]{{12}} is using its referenced image {id[7..19]}\n$", refused.Stderr);

        var pruned = (await Skiff("image", "prune", "-a", "-f")).AssertExit(0);
        Assert.Equal("Total reclaimed space: 0B\n", pruned.Stdout);

        var forced = (await Skiff("rmi", "-f", "busy:1")).AssertExit(0);
        Assert.Equal("Untagged: busy:1\n", forced.Stdout);
        // The layers stay under the running container: the image is kept, dangling.
        Assert.Contains(id, (await Skiff("images", "-q", "--no-trunc")).AssertExit(0).Stdout);

        (await container.WaitForExitAsync()).AssertExit(0);
        var after = (await box.Skiff(["image", "prune", "-f"])).AssertExit(0);
        Assert.Contains("deleted: " + id + "\n", after.Stdout);
    }
}
