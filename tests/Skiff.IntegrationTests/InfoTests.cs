using System.Text.Json;
using System.Text.RegularExpressions;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests;

/// <summary>skiff version and skiff info: what a user pastes into a bug report.</summary>
[Collection(SkiffCollection.Name)]
public sealed class InfoTests(SkiffInstall install)
{
    [Theory, BothModes]
    public async Task Version_prints_version_and_commit(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.Skiff(["version"])).AssertExit(0);

        Assert.Matches(new Regex(@"^Version:\s+\d+\.\d+\.\d+", RegexOptions.Multiline), result.Stdout);
        Assert.Matches(new Regex(@"^Commit:\s+[0-9a-f]{7,40}$", RegexOptions.Multiline), result.Stdout);
        Assert.Equal("", result.Stderr);
    }

    [Theory, BothModes]
    public async Task Info_json_describes_the_host(Mode mode)
    {
        using var box = install.NewSandbox(mode);

        var result = (await box.Skiff(["info", "--format", "json"])).AssertExit(0);

        using var json = JsonDocument.Parse(result.Stdout);
        var info = json.RootElement;
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), info.GetProperty("Kernel").GetString());
        Assert.Equal(mode == Mode.Rootless, info.GetProperty("Rootless").GetBoolean());
        Assert.Equal(box.StorageRoot, info.GetProperty("StorageRoot").GetString());
        var features = info.GetProperty("Features").EnumerateArray().ToList();
        Assert.Equal(5, features.Count);
        foreach (var feature in features)
        {
            string name = feature.GetProperty("Name").GetString() ?? "";
            Assert.NotEqual("", name);
            Assert.True(feature.GetProperty("Available").GetBoolean(), $"{name} unavailable: {feature.GetProperty("Message")}");
        }
    }

    [Fact]
    public async Task Info_without_subordinate_ids_says_so()
    {
        using var box = install.NewSandbox(Mode.RootlessNoSubIds);

        var result = (await box.Skiff(["info", "--format", "json"])).AssertExit(0);

        using var json = JsonDocument.Parse(result.Stdout);
        Assert.True(json.RootElement.GetProperty("Rootless").GetBoolean());
        Assert.Contains("subordinate", json.RootElement.GetProperty("IdMappingWarning").GetString());
    }
}
