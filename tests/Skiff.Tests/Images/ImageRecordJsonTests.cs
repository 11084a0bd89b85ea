using System.Text.Json;
using Skiff.Images;

namespace Skiff.Tests.Images;

/// <summary>The hand-written index and launch-record readers against the contract that writes them.</summary>
public sealed class ImageRecordJsonTests
{
    [Fact]
    public void The_index_reads_back_as_the_contract_wrote_it()
    {
        var index = new ImageIndexFile
        {
            Images =
            [
                new ImageRecord
                {
                    Id = "sha256:" + new string('a', 64), Manifest = "sha256:" + new string('b', 64), ManifestMediaType = "application/x",
                    Names = ["docker.io/library/busybox:latest", "x:1"], RepoDigests = ["r@sha256:c"], Layers = ["sha256:d", "sha256:e"],
                    Created = "2026-11-28T08:00:00Z", Size = 1L << 40, Added = new DateTimeOffset(2026, 11, 28, 9, 30, 15, 123, TimeSpan.FromHours(2)),
                },
                new ImageRecord { Id = "sha256:f" },
            ],
        };
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(index, ImageJson.Default.ImageIndexFile);
        var back = ImageRecordJson.ReadIndex(json, "the index");
        Assert.Equal(JsonSerializer.Serialize(index, ImageJson.Default.ImageIndexFile), JsonSerializer.Serialize(back, ImageJson.Default.ImageIndexFile));
        Assert.Equal(index.Images[0].Added, back.Images[0].Added);
    }

    [Fact]
    public void The_launch_record_reads_back_as_the_contract_wrote_it()
    {
        var launch = new LaunchRecord { Layers = ["/a", "/b"], Env = ["PATH=/bin"], Entrypoint = ["/bin/sh", "-c"], Cmd = ["echo hi"], WorkingDir = "/w", User = "1:2" };
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(launch, ImageJson.Default.LaunchRecord);
        var back = ImageRecordJson.ReadLaunch(json, "the record");
        Assert.Equal(JsonSerializer.Serialize(launch, ImageJson.Default.LaunchRecord), JsonSerializer.Serialize(back, ImageJson.Default.LaunchRecord));
    }

    [Fact]
    public void A_corrupt_index_names_itself_the_path_and_the_line()
    {
        var e = Assert.Throws<SkiffException>(() => ImageRecordJson.ReadIndex("{\"images\": [\n {\"id\": \"x\", \"size\": \"big\"}\n]}"u8, "the image index /s/index.json"));
        Assert.Contains("the image index /s/index.json does not parse", e.Message);
        Assert.Contains("$.images[0].size", e.Message);
        Assert.Contains("(line 2)", e.Message);
    }
}
