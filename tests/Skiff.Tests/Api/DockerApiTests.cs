using System.Text.Json;
using Skiff.Api;
using Skiff.Api.Endpoints;
using Skiff.Images;
using Skiff.Runtime;

namespace Skiff.Tests.Api;

/// <summary>The Docker API's common behaviour over a real socket, on an empty store in a temporary directory.</summary>
public sealed class DockerApiTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("skiff-api-store-").FullName;
    private TestServer _server = null!;

    public Task InitializeAsync()
    {
        var daemon = new Daemon
        {
            Paths = new SkiffPaths(_root),
            Images = new ImageStore(_root, new UnpackOptions()),
            Rootless = false,
            Version = "9.9.9",
            Commit = "abc",
        };
        _server = new TestServer(new DockerApi(daemon).HandleAsync);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private async Task<RawResponse> Call(string method, string path, bool head = false)
    {
        using var client = _server.Connect();
        client.Send($"{method} {path} HTTP/1.1\r\nHost: docker\r\n\r\n");
        return await client.ReadResponseAsync(head);
    }

    [Fact]
    public async Task Ping_answers_head_and_get_with_the_headers_the_cli_negotiates_from()
    {
        foreach (var (method, head) in new[] { ("HEAD", true), ("GET", false) })
        {
            var r = await Call(method, "/_ping", head);
            Assert.Equal(200, r.Status);
            Assert.Equal("1.47", r.Header("API-Version"));
            Assert.Equal("linux", r.Header("OSType"));
            Assert.Equal("false", r.Header("Docker-Experimental"));
            Assert.Equal("1", r.Header("Builder-Version"));
            Assert.Equal("inactive", r.Header("Swarm"));
            Assert.StartsWith("no-cache", r.Header("Cache-Control"));
            Assert.Equal("skiff/9.9.9", r.Header("Server"));
            Assert.Equal(head ? "" : "OK", r.Text);
        }
    }

    [Fact]
    public async Task Versioned_and_bare_paths_give_the_same_answer_and_every_answer_carries_the_api_version()
    {
        var bare = await Call("GET", "/version");
        var versioned = await Call("GET", "/v1.43/version");

        Assert.Equal(200, bare.Status);
        using var doc = JsonDocument.Parse(bare.Body);
        Assert.Equal("9.9.9", doc.RootElement.GetProperty("Version").GetString());
        Assert.Equal("1.47", doc.RootElement.GetProperty("ApiVersion").GetString());
        Assert.Equal("Engine", doc.RootElement.GetProperty("Components")[0].GetProperty("Name").GetString());
        Assert.Equal(bare.Text, versioned.Text);
        Assert.Equal("1.47", versioned.Header("Api-Version"));
    }

    [Fact]
    public async Task Unknown_routes_are_404_page_not_found_and_missing_images_404_with_a_message()
    {
        var unknown = await Call("GET", "/v1.47/nothing/here");
        var image = await Call("GET", "/v1.47/images/no/such:image/json");
        var delete = await Call("DELETE", "/images/nope");

        Assert.Equal(404, unknown.Status);
        Assert.Equal("{\"message\":\"page not found\"}\n", unknown.Text);
        Assert.Equal("1.47", unknown.Header("Api-Version"));
        Assert.Equal(404, image.Status);
        Assert.Equal("No such image: no/such:image", JsonDocument.Parse(image.Body).RootElement.GetProperty("message").GetString());
        Assert.Equal(404, delete.Status);
    }

    [Fact]
    public async Task Info_reports_the_host_and_an_empty_store()
    {
        var r = await Call("GET", "/info");

        using var doc = JsonDocument.Parse(r.Body);
        var info = doc.RootElement;
        Assert.Equal(0, info.GetProperty("Images").GetInt32());
        Assert.Equal(Environment.ProcessorCount, info.GetProperty("NCPU").GetInt32());
        Assert.True(info.GetProperty("MemTotal").GetInt64() > 0);
        Assert.Equal(_root, info.GetProperty("DockerRootDir").GetString());
        Assert.Equal("overlay", info.GetProperty("Driver").GetString());
        Assert.Equal("inactive", info.GetProperty("Swarm").GetProperty("LocalNodeState").GetString());
        Assert.Equal(["name=seccomp,profile=builtin"], info.GetProperty("SecurityOptions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Bad_input_is_400_with_the_reason()
    {
        var badFilter = await Call("GET", "/images/json?filters=%7Bnope");
        var unknownFilter = await Call("GET", "/images/json?filters=%7B%22color%22%3A%5B%22red%22%5D%7D");
        var noRepo = await Call("POST", "/images/x/tag");

        Assert.Equal(400, badFilter.Status);
        Assert.Equal(400, unknownFilter.Status);
        Assert.Equal("invalid filter 'color'", JsonDocument.Parse(unknownFilter.Body).RootElement.GetProperty("message").GetString());
        Assert.Contains("'color'", unknownFilter.Text);
        Assert.Equal(400, noRepo.Status);
    }

    [Fact]
    public void Registry_auth_headers_decode_from_base64url_json()
    {
        string Encode(string json) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        Assert.Null(ImageEndpoints.DecodeAuth("e30="));
        Assert.Equal(new Skiff.Images.Registry.Credential("u", "p?>"), ImageEndpoints.DecodeAuth(Encode("{\"username\":\"u\",\"password\":\"p?>\",\"serveraddress\":\"127.0.0.1:5000\"}")));
        Assert.Equal(new Skiff.Images.Registry.Credential("a", "b:c"), ImageEndpoints.DecodeAuth(Encode("{\"auth\":\"" + Convert.ToBase64String("a:b:c"u8.ToArray()) + "\"}")));
        Assert.Throws<SkiffException>(() => ImageEndpoints.DecodeAuth("!!!"));
    }

    [Fact]
    public void Pull_references_join_the_image_and_its_tag_or_digest()
    {
        Assert.Equal("docker.io/library/busybox:latest", ImageEndpoints.ReferenceOf("docker.io/library/busybox", "latest").ToString());
        Assert.Equal("127.0.0.1:5000/a/b:v1", ImageEndpoints.ReferenceOf("127.0.0.1:5000/a/b", "v1").ToString());
        Assert.Equal("docker.io/library/busybox:1.36", ImageEndpoints.ReferenceOf("busybox:1.36", null).ToString());
        string digest = "sha256:" + new string('a', 64);
        Assert.Equal("docker.io/library/busybox@" + digest, ImageEndpoints.ReferenceOf("busybox", digest).ToString());
    }

    [Fact]
    public async Task An_image_a_container_uses_is_409_to_remove_until_the_container_is_gone()
    {
        var store = new ImageStore(_root, new UnpackOptions());
        string tar = Path.Combine(_root, "layer.tar");
        using (var f = File.Create(tar))
        using (var w = new System.Formats.Tar.TarWriter(f))
        {
            w.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "hello") { DataStream = new MemoryStream("hi"u8.ToArray()) });
        }
        var image = ImageImport.Import(store, tar, [ImageReference.Parse("used:1")], [], null);
        ContainerUsage.Record(Path.Combine(store.ContainersDir, "c0ffee"), image.Id);

        var refused = await Call("DELETE", "/v1.47/images/used:1");
        Directory.Delete(Path.Combine(store.ContainersDir, "c0ffee"), recursive: true);
        var removed = await Call("DELETE", "/v1.47/images/used:1");

        Assert.Equal(409, refused.Status);
        Assert.Contains("c0ffee", JsonDocument.Parse(refused.Body).RootElement.GetProperty("message").GetString());
        Assert.Equal(200, removed.Status);
        Assert.Equal($"[{{\"Untagged\":\"used:1\"}},{{\"Deleted\":\"{image.Id}\"}}]\n", removed.Text);
    }

    [Fact]
    public async Task Two_holders_of_the_store_lock_in_one_process_take_turns_instead_of_failing()
    {
        string path = Path.Combine(_root, "store.lock");
        var first = StoreLock.Acquire(path);
        var second = Task.Run(() => StoreLock.Acquire(path));

        await Task.Delay(200);
        Assert.False(second.IsCompleted);
        first.Dispose();
        using var got = await second.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
