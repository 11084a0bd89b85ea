using Skiff.Engine.Containers;

namespace Skiff.Tests.Containers.Listing;

public sealed class ContainerListTests : IDisposable
{
    private readonly ContainerDirs _dirs = new();

    public void Dispose() => _dirs.Dispose();

    private List<ContainerSummary> List(bool all = false, int limit = 0, params string[] filters) =>
        ContainerList.List(_dirs.Store, new ContainerListOptions { All = all, Limit = limit, Filters = ContainerFilters.Parse(filters) }, null, _dirs.Now);

    private static string[] Names(IEnumerable<ContainerSummary> list) => list.Select(c => c.Names.Single()).ToArray();

    private void Four()
    {
        _dirs.Add("oldest", "exited", createdAgo: TimeSpan.FromMinutes(40), finishedAgo: TimeSpan.FromMinutes(1), exitCode: 3);
        _dirs.Add("made", "created", createdAgo: TimeSpan.FromMinutes(30));
        _dirs.Add("up", "running", createdAgo: TimeSpan.FromMinutes(20), configure: d => d.Config.Labels = new() { ["tier"] = "web", ["x"] = "1" });
        _dirs.Add("newest", "running", createdAgo: TimeSpan.FromMinutes(10));
    }

    [Fact]
    public void Only_running_containers_without_all_and_newest_first()
    {
        Four();

        Assert.Equal(["/newest", "/up"], Names(List()));
        Assert.Equal(["/newest", "/up", "/made", "/oldest"], Names(List(all: true)));
    }

    [Fact]
    public void A_limit_counts_stopped_containers_too()
    {
        Four();

        Assert.Equal(["/newest", "/up", "/made"], Names(List(limit: 3)));
    }

    [Fact]
    public void Filters_select_as_dockers_do()
    {
        Four();

        Assert.Equal(["/made", "/oldest"], Names(List(false, 0, "status=exited", "status=created")));
        // exited= does not imply -a (only status= does).
        Assert.Empty(List(false, 0, "exited=3"));
        Assert.Equal(["/oldest"], Names(List(true, 0, "exited=3")));
        // As in Docker, a container never started has exit code 0 and is not running.
        Assert.Equal(["/made"], Names(List(true, 0, "exited=0")));
        Assert.Equal(["/up"], Names(List(true, 0, "label=tier")));
        Assert.Equal(["/up"], Names(List(true, 0, "label=tier=web", "label=x")));
        Assert.Empty(List(true, 0, "label=tier=db"));
        // name= is a regular expression over "/name", as the daemon matches it.
        Assert.Equal(["/newest"], Names(List(true, 0, "name=^/new")));
        Assert.Equal(["/newest", "/oldest"], Names(List(true, 0, "name=est")));
        string id = _dirs.Store.Resolve("made");
        Assert.Equal(["/made"], Names(List(true, 0, "id=" + id[..10])));
        Assert.Equal(["/made", "/oldest"], Names(List(true, 0, "before=up")));
        Assert.Equal(["/newest"], Names(List(true, 0, "since=up")));
    }

    [Fact]
    public void Bad_filters_get_the_daemons_messages()
    {
        Four();

        Assert.Equal("invalid filter 'bogus'", Assert.Throws<SkiffException>(() => List(false, 0, "bogus=1")).Message);
        Assert.Equal("invalid filter 'status=sleeping'", Assert.Throws<SkiffException>(() => List(false, 0, "status=sleeping")).Message);
        Assert.Equal("No such container: nope", Assert.Throws<SkiffException>(() => List(false, 0, "before=nope")).Message);
    }

    [Fact]
    public void Ancestor_matches_the_image_a_name_means_now()
    {
        string busybox = "sha256:" + new string('b', 64), alpine = "sha256:" + new string('a', 64);
        _dirs.Add("b", imageId: busybox, image: "busybox");
        _dirs.Add("a", imageId: alpine, image: "alpine");
        var images = new FakeImages(new() { ["busybox"] = busybox, ["alpine"] = alpine });

        var list = ContainerList.List(_dirs.Store, new ContainerListOptions { Filters = ContainerFilters.Parse(["ancestor=alpine"]) }, images, _dirs.Now);

        Assert.Equal(["/a"], Names(list));
        Assert.Empty(ContainerList.List(_dirs.Store, new ContainerListOptions { Filters = ContainerFilters.Parse(["ancestor=nothing"]) }, images, _dirs.Now));
    }

    [Fact]
    public void A_name_that_now_means_another_image_shows_the_id_the_container_runs()
    {
        string old = "sha256:" + new string('c', 64);
        _dirs.Add("x", imageId: old, image: "busybox");

        var retagged = ContainerList.List(_dirs.Store, new ContainerListOptions(), new FakeImages(new() { ["busybox"] = "sha256:" + new string('d', 64) }), _dirs.Now);
        var same = ContainerList.List(_dirs.Store, new ContainerListOptions(), new FakeImages(new() { ["busybox"] = old }), _dirs.Now);

        Assert.Equal(old, retagged.Single().Image);
        Assert.Equal("busybox", same.Single().Image);
    }

    [Fact]
    public void The_summary_has_dockers_fields()
    {
        _dirs.Add("web", args: ["-c", "echo a b"], path: "sh", configure: d =>
        {
            d.Config.Labels = new() { ["k"] = "v" };
            d.Config.ExposedPorts = new() { ["53/udp"] = new EmptyObject() };
            d.HostConfig.PortBindings = new() { ["80/tcp"] = [new PortBinding { HostIp = "127.0.0.1", HostPort = "18080" }] };
        });

        var c = List().Single();

        Assert.Equal(64, c.Id.Length);
        Assert.Equal("sh -c 'echo a b'", c.Command);
        Assert.Equal(new DateTimeOffset(_dirs.Now.AddMinutes(-5)).ToUnixTimeSeconds(), c.Created);
        Assert.Equal("running", c.State);
        Assert.Equal("Up 4 minutes", c.Status);
        Assert.Equal("v", c.Labels["k"]);
        Assert.Equal("bridge", c.HostConfig.NetworkMode);
        Assert.Contains(c.Ports, p => p is { IP: "127.0.0.1", PrivatePort: 80, PublicPort: 18080, Type: "tcp" });
        Assert.Contains(c.Ports, p => p is { IP: null, PrivatePort: 53, PublicPort: 0, Type: "udp" });
    }

    [Fact]
    public void A_stopped_container_publishes_no_ports()
    {
        _dirs.Add("web", "exited", finishedAgo: TimeSpan.FromSeconds(5), configure: d =>
            d.HostConfig.PortBindings = new() { ["80/tcp"] = [new PortBinding { HostPort = "8080" }] });

        Assert.Empty(List(all: true).Single().Ports);
    }

    [Fact]
    public void A_container_whose_supervisor_died_is_listed_as_exited()
    {
        using var gone = System.Diagnostics.Process.Start("true")!;
        gone.WaitForExit();
        var id = _dirs.Add("orphan", "running", supervisorPid: gone.Id);
        _dirs.SetState(id, s => s.Pid = gone.Id);

        var c = List(all: true).Single();

        Assert.Equal("exited", c.State);
        Assert.StartsWith("Exited (137)", c.Status);
        Assert.Empty(List());
    }

    [Fact]
    public void Size_is_the_writable_layer_and_the_image()
    {
        string image = "sha256:" + new string('e', 64);
        var id = _dirs.Add("big", imageId: image);
        Directory.CreateDirectory(Path.Combine(_dirs.Dir(id), "upper", "etc"));
        File.WriteAllBytes(Path.Combine(_dirs.Dir(id), "upper", "etc", "data"), new byte[1500]);

        var c = ContainerList.List(_dirs.Store, new ContainerListOptions { Size = true }, new FakeImages(new(), new() { [image] = 4_000_000 }), _dirs.Now).Single();

        Assert.Equal(1500, c.SizeRw);
        Assert.Equal(4_001_500, c.SizeRootFs);
    }

    [Fact]
    public void Api_filters_come_in_either_json_shape()
    {
        var a = ContainerFilters.FromJson("""{"status":["exited","created"],"label":["a=1"]}""");
        var b = ContainerFilters.FromJson("""{"status":{"exited":true,"created":true}}""");

        Assert.Equal(["exited", "created"], a.Values("status"));
        Assert.Equal(["a=1"], a.Values("label"));
        Assert.Equal(["exited", "created"], b.Values("status"));
        Assert.Throws<SkiffException>(() => ContainerFilters.FromJson("[1]"));
    }
}
