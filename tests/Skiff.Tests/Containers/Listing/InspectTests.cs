using System.Text.Json;
using System.Text.Json.Nodes;
using Skiff.Engine.Containers;

namespace Skiff.Tests.Containers.Listing;

public sealed class InspectTests : IDisposable
{
    private readonly ContainerDirs _dirs = new();

    public void Dispose() => _dirs.Dispose();

    private JsonObject Inspect(string name) =>
        JsonSerializer.SerializeToNode(ContainerInspect.Inspect(_dirs.Store, _dirs.Store.Resolve(name)), ContainerInspectJson.Default.ContainerInspectResponse)!.AsObject();

    [Fact]
    public void A_created_container_has_docker_s_shape_with_Config_and_State()
    {
        var id = _dirs.Add("fresh", "created", path: "echo", args: ["hi"]);

        var o = Inspect("fresh");

        string[] keys =
        [
            "Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath", "HostsPath", "LogPath", "Name",
            "RestartCount", "Driver", "Platform", "MountLabel", "ProcessLabel", "AppArmorProfile", "ExecIDs", "HostConfig",
            "GraphDriver", "Mounts", "Config", "NetworkSettings",
        ];
        Assert.Equal(keys, o.Select(p => p.Key).ToArray());
        Assert.Equal(id, (string)o["Id"]!);
        Assert.Equal("/fresh", (string)o["Name"]!);
        Assert.Equal("echo", (string)o["Path"]!);
        Assert.Equal("hi", (string)o["Args"]![0]!);
        Assert.Equal("sha256:" + new string('1', 64), (string)o["Image"]!);
        Assert.Equal("overlay", (string)o["Driver"]!);
        Assert.Equal("linux", (string)o["Platform"]!);
        var state = o["State"]!.AsObject();
        Assert.Equal(["Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode", "Error", "StartedAt", "FinishedAt"],
            state.Select(p => p.Key).ToArray());
        Assert.Equal("created", (string)state["Status"]!);
        Assert.False((bool)state["Running"]!);
        Assert.Equal(0, (int)state["Pid"]!);
        Assert.Equal("0001-01-01T00:00:00Z", (string)state["StartedAt"]!);
        var config = o["Config"]!.AsObject();
        Assert.Equal("busybox", (string)config["Image"]!);
        Assert.Equal(id[..12], (string)config["Hostname"]!);
        Assert.Equal(Path.Combine(_dirs.Dir(id), id + "-json.log"), (string)o["LogPath"]!);
        Assert.Equal("overlay", (string)o["GraphDriver"]!["Name"]!);
        Assert.Equal("/layers/b/diff:/layers/a/diff", (string)o["GraphDriver"]!["Data"]!["LowerDir"]!);
        Assert.Equal(Path.Combine(_dirs.Dir(id), "upper"), (string)o["GraphDriver"]!["Data"]!["UpperDir"]!);
        Assert.Empty(o["NetworkSettings"]!["Ports"]!.AsObject());
    }

    [Fact]
    public void A_running_container_shows_its_pid_and_published_ports()
    {
        _dirs.Add("web", configure: d =>
        {
            d.Config.ExposedPorts = new() { ["53/udp"] = new EmptyObject() };
            d.HostConfig.PortBindings = new() { ["80/tcp"] = [new PortBinding { HostIp = "", HostPort = "8080" }] };
        });

        var o = Inspect("web");

        Assert.True((bool)o["State"]!["Running"]!);
        Assert.Equal(Environment.ProcessId, (int)o["State"]!["Pid"]!);
        var ports = o["NetworkSettings"]!["Ports"]!.AsObject();
        Assert.Equal("0.0.0.0", (string)ports["80/tcp"]![0]!["HostIp"]!);
        Assert.Equal("8080", (string)ports["80/tcp"]![0]!["HostPort"]!);
        Assert.True(ports.ContainsKey("53/udp"));
        Assert.Null(ports["53/udp"]);
        Assert.True(o["NetworkSettings"]!["Networks"]!.AsObject().ContainsKey("bridge"));
    }

    [Fact]
    public void What_the_network_setup_recorded_wins()
    {
        var id = _dirs.Add("web", configure: d => d.HostConfig.PortBindings = new() { ["80/tcp"] = [new PortBinding { HostPort = "" }] });
        File.WriteAllText(Path.Combine(_dirs.Dir(id), "network.json"),
            """{"IPAddress":"10.0.2.100","IPPrefixLen":24,"Gateway":"10.0.2.2","Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"40123"}]}}""");

        var o = Inspect("web");

        Assert.Equal("10.0.2.100", (string)o["NetworkSettings"]!["IPAddress"]!);
        Assert.Equal("10.0.2.2", (string)o["NetworkSettings"]!["Networks"]!["bridge"]!["Gateway"]!);
        Assert.Equal("40123", (string)o["NetworkSettings"]!["Ports"]!["80/tcp"]![0]!["HostPort"]!);
    }

    [Fact]
    public void Mounts_come_from_binds_and_mount_specs()
    {
        _dirs.Add("m", configure: d =>
        {
            d.HostConfig.Binds = ["/srv/data:/data:ro", "cache:/cache"];
            d.HostConfig.Mounts = [new MountSpec { Type = "tmpfs", Target = "/scratch" }];
        });

        var mounts = Inspect("m")["Mounts"]!.AsArray();

        Assert.Equal(3, mounts.Count);
        Assert.Equal("bind", (string)mounts[0]!["Type"]!);
        Assert.Equal("/srv/data", (string)mounts[0]!["Source"]!);
        Assert.False((bool)mounts[0]!["RW"]!);
        Assert.Equal("rprivate", (string)mounts[0]!["Propagation"]!);
        Assert.False(mounts[0]!.AsObject().ContainsKey("Name"));
        Assert.Equal("volume", (string)mounts[1]!["Type"]!);
        Assert.Equal("cache", (string)mounts[1]!["Name"]!);
        Assert.Equal(Path.Combine(_dirs.Root, "volumes", "cache", "_data"), (string)mounts[1]!["Source"]!);
        Assert.Equal("local", (string)mounts[1]!["Driver"]!);
        Assert.Equal("tmpfs", (string)mounts[2]!["Type"]!);
    }

    [Fact]
    public void The_none_driver_has_no_log_path()
    {
        _dirs.Add("quiet", configure: d => d.HostConfig.LogConfig.Type = "none");

        Assert.Equal("", (string)Inspect("quiet")["LogPath"]!);
    }

    [Fact]
    public void An_unknown_name_is_not_found()
    {
        var e = Assert.Throws<SkiffException>(() => _dirs.Store.Resolve("nope"));

        Assert.Equal(ErrorCategory.NotFound, e.Category);
        Assert.Equal("No such container: nope", e.Message);
    }
}
