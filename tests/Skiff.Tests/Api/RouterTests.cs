using System.Buffers.Binary;
using System.Text;
using Skiff.Api.Http;
using Skiff.Api.Routing;
using Skiff.Api.Streams;

namespace Skiff.Tests.Api;

public class RouterTests
{
    private static readonly Router Routes = Build();

    private static Router Build()
    {
        var r = new Router();
        foreach (var (method, pattern) in new[]
                 {
                     ("GET", "/_ping"), ("GET", "/images/json"), ("GET", "/images/{name...}/json"), ("POST", "/images/{name...}/tag"),
                     ("DELETE", "/images/{name...}"), ("GET", "/images/get"), ("POST", "/containers/{id}/start"), ("GET", "/containers/json"),
                 })
        {
            r.Map(method, pattern, _ => Task.CompletedTask);
        }
        return r;
    }

    [Theory]
    [InlineData("/_ping", null)]
    [InlineData("/v1.47/_ping", "1.47")]
    [InlineData("/v1.12/_ping", "1.12")]
    [InlineData("/v2/_ping", "2")]
    public void Versioned_and_unversioned_paths_reach_the_same_route(string path, string? version)
    {
        var m = Routes.Match("GET", path);
        Assert.NotNull(m);
        Assert.Equal("/_ping", m.Pattern);
        Assert.Equal(version, m.Version);
    }

    [Theory]
    [InlineData("/images/busybox/json", "busybox")]
    [InlineData("/v1.47/images/127.0.0.1:5000/team/app:1.0/json", "127.0.0.1:5000/team/app:1.0")]
    [InlineData("/images/docker.io%2Flibrary%2Fbusybox/json", "docker.io/library/busybox")]
    [InlineData("/images/busybox@sha256:abc/json", "busybox@sha256:abc")]
    public void Image_names_keep_their_slashes(string path, string name)
    {
        var m = Routes.Match("GET", path);
        Assert.NotNull(m);
        Assert.Equal("/images/{name...}/json", m.Pattern);
        Assert.Equal(name, m.Values["name"]);
    }

    [Fact]
    public void Literal_routes_win_over_names_and_methods_are_kept_apart()
    {
        Assert.Equal("/images/json", Routes.Match("GET", "/v1.47/images/json")!.Pattern);
        Assert.Equal("/images/get", Routes.Match("GET", "/images/get")!.Pattern);
        Assert.Equal("a/b", Routes.Match("DELETE", "/images/a/b")!.Values["name"]);
        Assert.Equal("/images/{name...}/tag", Routes.Match("POST", "/images/x/y/tag")!.Pattern);
        Assert.Equal("abc", Routes.Match("POST", "/v1.41/containers/abc/start")!.Values["id"]);
        Assert.Null(Routes.Match("GET", "/containers/abc/start"));
        Assert.Null(Routes.Match("GET", "/images/"));
        Assert.Null(Routes.Match("GET", "/vx/_ping"));
        Assert.Null(Routes.Match("GET", "/v1.47_ping"));
        Assert.Null(Routes.Match("GET", "/containers/a/b/start"));
        Assert.True(Routes.PathExists("/v1.47/containers/abc/start"));
    }

    [Fact]
    public void Versions_split_and_compare_as_numbers()
    {
        Assert.Equal(("1.47", "/"), ApiVersion.Split("/v1.47"));
        Assert.Equal((null, "/version"), ApiVersion.Split("/version"));
        Assert.True(ApiVersion.Compare("1.9", "1.41") < 0);
        Assert.True(ApiVersion.Compare("1.47", null) == 0);
    }

    [Fact]
    public void Query_values_decode_and_booleans_read_as_dockerd_reads_them()
    {
        var q = QueryString.Parse("fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest&a=1&b=true&c=0&d=False&e&f=no&names=x&names=y+z&g=%zz");
        Assert.Equal("docker.io/library/busybox", q.Get("fromImage"));
        Assert.True(q.Bool("a"));
        Assert.True(q.Bool("b"));
        Assert.False(q.Bool("c"));
        Assert.False(q.Bool("d"));
        Assert.False(q.Bool("e"));
        Assert.False(q.Bool("f"));
        Assert.False(q.Bool("missing"));
        Assert.True(q.Bool("missing", whenAbsent: true));
        Assert.Equal(["x", "y z"], q.All("names"));
        Assert.Equal("%zz", q.Get("g"));
    }

    [Fact]
    public void Filters_read_both_json_forms()
    {
        var lists = Filters.Parse("{\"dangling\":[\"true\"],\"label\":[\"a=b\",\"c\"]}");
        var maps = Filters.Parse("{\"dangling\":{\"false\":true},\"reference\":{\"busybox\":true}}");

        Assert.True(lists.Bool("dangling"));
        Assert.False(maps.Bool("dangling"));
        Assert.Equal(["busybox"], maps.Values("reference"));
        Assert.True(lists.MatchLabels(new Dictionary<string, string> { ["a"] = "b", ["c"] = "" }));
        Assert.False(lists.MatchLabels(new Dictionary<string, string> { ["a"] = "x", ["c"] = "" }));
        Assert.Throws<SkiffException>(() => lists.Allow("dangling"));
        Assert.Throws<SkiffException>(() => Filters.Parse("{nope"));
        Assert.True(Filters.Glob("bus*", "busybox"));
        Assert.True(Filters.Glob("busybox:*", "busybox:latest"));
        Assert.False(Filters.Glob("*", "team/app"));
        Assert.True(Filters.Glob("team/a?p", "team/app"));
    }
}

public class MultiplexedStreamWriterTests
{
    private static List<(StdStream Stream, string Text)> Frames(byte[] data)
    {
        var frames = new List<(StdStream, string)>();
        for (int i = 0; i < data.Length;)
        {
            Assert.Equal(0, data[i + 1] | data[i + 2] | data[i + 3]);
            int len = (int)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(i + 4));
            frames.Add(((StdStream)data[i], Encoding.ASCII.GetString(data, i + 8, len)));
            i += 8 + len;
        }
        return frames;
    }

    [Fact]
    public async Task Each_write_is_a_frame_with_the_stream_and_a_big_endian_length()
    {
        var output = new MemoryStream();
        var w = new MultiplexedStreamWriter(output);

        await w.WriteAsync(StdStream.Stdout, "hi\n"u8.ToArray());
        await w.WriteAsync(StdStream.Stderr, Encoding.ASCII.GetBytes(new string('e', 0x13)));
        await w.WriteAsync(StdStream.Stdout, Array.Empty<byte>());
        await w.WriteErrorAsync("boom");

        byte[] bytes = output.ToArray();
        Assert.Equal(new byte[] { 1, 0, 0, 0, 0, 0, 0, 3, (byte)'h', (byte)'i', (byte)'\n' }, bytes[..11]);
        Assert.Equal([(StdStream.Stdout, "hi\n"), (StdStream.Stderr, new string('e', 0x13)), (StdStream.SystemError, "boom")], Frames(bytes));
    }

    [Fact]
    public async Task Big_payloads_are_cut_and_concurrent_writers_never_interleave()
    {
        var output = new MemoryStream();
        var w = new MultiplexedStreamWriter(output);
        string big = new('x', MultiplexedStreamWriter.MaxFramePayload * 2 + 5);

        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() =>
            w.WriteAsync(i % 2 == 0 ? StdStream.Stdout : StdStream.Stderr, Encoding.ASCII.GetBytes(i % 2 == 0 ? big : "err" + i)))));

        var frames = Frames(output.ToArray());
        Assert.Equal(25 * 3 + 25, frames.Count);
        Assert.All(frames.Where(f => f.Stream == StdStream.Stdout), f => Assert.True(f.Text.All(c => c == 'x') && f.Text.Length <= MultiplexedStreamWriter.MaxFramePayload));
        Assert.Equal(25 * big.Length, frames.Where(f => f.Stream == StdStream.Stdout).Sum(f => f.Text.Length));
    }
}
