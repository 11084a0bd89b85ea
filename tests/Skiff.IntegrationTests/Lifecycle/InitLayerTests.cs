using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Lifecycle;

/// <summary>
/// The image's init layer holds the mount points its rootfs lacks (busybox's has no /etc/hosts,
/// /etc/hostname or /etc/resolv.conf): a container's writable layer stays empty until the
/// container writes, and nothing of the image's is copied up for the binds.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed class InitLayerTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task Binds_land_on_the_init_layer_and_the_writable_layer_stays_empty(Mode mode)
    {
        await using var box = await ImageBox.CreateAsync(install, mode);
        Assert.False(File.Exists(Path.Combine(box.Box.Rootfs, "etc", "hosts")), "the test image must lack /etc/hosts");
        string id = await box.StartAsync("initlayer", [], "sleep", "60");

        var exec = (await box.Skiff(["exec", id, "sh", "-c", "cat /etc/hostname; grep -c localhost /etc/hosts; touch /written"])).AssertExit(0);

        Assert.Equal(id[..12], exec.StdoutLines[0]);
        string lower = (await box.InspectAsync(id)).GetProperty("GraphDriver").GetProperty("Data").GetProperty("LowerDir").GetString()!;
        string init = lower.Split(':')[0];
        Assert.Contains(Path.Combine("images", "init"), init);
        Assert.True(File.Exists(Path.Combine(init, "etc", "hosts")), lower);
        string upper = Path.Combine(box.Box.ContainersDir, id, "upper");
        Assert.Equal(["written"], Directory.GetFileSystemEntries(upper).Select(e => Path.GetFileName(e)!).ToArray());
        (await box.Skiff(["rm", "-f", id])).AssertExit(0);
        // rmi takes the init layer with the image
        (await box.Skiff(["rmi", "busybox"])).AssertExit(0);
        Assert.False(Directory.Exists(init), init);
    }
}
