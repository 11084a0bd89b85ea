using System.Text.Json;
using Skiff.Engine.Containers;

namespace Skiff.Tests.Containers;

public sealed class ContainerWriteJsonTests
{
    [Fact]
    public void The_serialization_only_contract_writes_the_bytes_the_full_one_writes()
    {
        var def = new ContainerDefinition
        {
            Id = "abc", Name = "box", Path = "sh", Args = ["-c", "echo <&> \u00e9"], Layers = ["/l/top", "/l/base"],
            Config = new ContainerConfig { Env = ["PATH=/bin", "A=1"], Image = "busybox", Labels = new() { ["k"] = "v" } },
            HostConfig = new HostConfig { NetworkMode = "none", Memory = 16 << 20, Binds = ["/a:/b:ro"] },
            Rootless = true,
            MountPoints = [new Skiff.Engine.Volumes.MountPoint { Type = "bind", Source = "/a", Destination = "/b" }],
        };
        string full = JsonSerializer.Serialize(def, ContainerJson.Default.ContainerDefinition);
        Assert.Equal(full, JsonSerializer.Serialize(def, ContainerWriteJson.Default.ContainerDefinition));
        Assert.Contains("\"Memory\":16777216", full);
    }
}
