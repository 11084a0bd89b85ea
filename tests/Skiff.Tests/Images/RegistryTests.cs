using System.Net;
using System.Net.Sockets;
using System.Text;
using Skiff.Images;
using Skiff.Images.Registry;

namespace Skiff.Tests.Images;

public sealed class RegistryAuthChallengeTests
{
    [Fact]
    public void A_bearer_challenge_gives_realm_service_and_scope()
    {
        var c = AuthChallenge.Parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull\"")!;

        Assert.True(c.IsBearer);
        Assert.Equal("https://auth.docker.io/token", c.Realm);
        Assert.Equal("registry.docker.io", c.Service);
        Assert.Equal("repository:library/busybox:pull", c.Scope);
    }

    [Fact]
    public void A_basic_challenge_and_unquoted_values_and_commas_inside_quotes_parse()
    {
        var basic = AuthChallenge.Parse("Basic realm=\"skiff-test\"")!;
        Assert.True(basic.IsBasic);
        Assert.Equal("skiff-test", basic.Realm);

        var c = AuthChallenge.Parse("bearer realm=https://r/token, scope=\"repository:a/b:pull,push\", error=\"insufficient_scope\"")!;
        Assert.True(c.IsBearer);
        Assert.Equal("https://r/token", c.Realm);
        Assert.Equal("repository:a/b:pull,push", c.Scope);
        Assert.Null(c.Service);
    }

    [Fact]
    public void No_header_is_no_challenge() => Assert.Null(AuthChallenge.Parse("  "));
}

public sealed class RegistryEndpointTests
{
    [Theory]
    [InlineData("docker.io/library/busybox:1.36", "https://registry-1.docker.io/v2/library/busybox/manifests/1.36")]
    [InlineData("busybox", "https://registry-1.docker.io/v2/library/busybox/manifests/latest")]
    [InlineData("quay.io/org/app:v2", "https://quay.io/v2/org/app/manifests/v2")]
    [InlineData("localhost:5000/app", "https://localhost:5000/v2/app/manifests/latest")]
    [InlineData("127.0.0.1:5000/a/b:t", "https://127.0.0.1:5000/v2/a/b/manifests/t")]
    [InlineData("example.com:443/app@sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        "https://example.com/v2/app/manifests/sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")]
    public void A_reference_maps_to_its_manifest_url_over_https_first(string reference, string url)
    {
        var r = ImageReference.Parse(reference);

        var e = RegistryEndpoint.For(r.Registry);

        Assert.Equal(url, e.Manifest(r.Repository, RegistryEndpoint.ReferenceOf(r)).AbsoluteUri);
    }

    [Fact]
    public void Plain_http_urls_name_the_host_and_the_digest()
    {
        var e = RegistryEndpoint.For("registry.example:5000", TlsPolicy.SkipVerifyOrPlainHttp) with { PlainHttp = true };
        var d = Digest.Of("x"u8);

        Assert.Equal($"http://registry.example:5000/v2/a/b/blobs/{d}", e.Blob("a/b", d).AbsoluteUri);
        Assert.Equal("http://registry.example:5000/v2/a/b/blobs/uploads/", e.Uploads("a/b").AbsoluteUri);
    }

    [Theory]
    [InlineData("registry.example:5000", null, false, TlsPolicy.Verify)]
    [InlineData("registry.example:5000", null, true, TlsPolicy.SkipVerifyOrPlainHttp)]
    [InlineData("registry.example:5000", false, false, TlsPolicy.SkipVerifyOrPlainHttp)]
    [InlineData("registry.example:5000", true, true, TlsPolicy.Verify)]
    [InlineData("127.0.0.1:5000", null, false, TlsPolicy.VerifyOrPlainHttp)]
    [InlineData("localhost", null, true, TlsPolicy.SkipVerifyOrPlainHttp)]
    [InlineData("[::1]:5000", true, false, TlsPolicy.Verify)]
    [InlineData("docker.io", null, false, TlsPolicy.Verify)]
    public void The_tls_policy_follows_the_flag_then_the_insecure_list_then_loopback(string registry, bool? tlsVerify, bool listed, TlsPolicy expected) =>
        Assert.Equal(expected, RegistryEndpoint.PolicyFor(registry, tlsVerify, listed));

    [Theory]
    [InlineData("/v2/a/blobs/uploads/u1", "http://h:1/v2/a/blobs/uploads/u1?digest=sha256%3A")]
    [InlineData("http://h:1/v2/a/blobs/uploads/u1?_state=xyz", "http://h:1/v2/a/blobs/uploads/u1?_state=xyz&digest=sha256%3A")]
    public void The_upload_location_gets_the_digest_appended(string location, string prefix)
    {
        var e = RegistryEndpoint.For("h:1", TlsPolicy.SkipVerifyOrPlainHttp) with { PlainHttp = true };

        Assert.StartsWith(prefix, e.FinishUpload(location, Digest.Of("x"u8)).AbsoluteUri);
    }

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("localhost:5000", true)]
    [InlineData("127.0.0.1:5000", true)]
    [InlineData("127.255.0.9", true)]
    [InlineData("[::1]:5000", true)]
    [InlineData("128.0.0.1:5000", false)]
    [InlineData("localhost.example.com", false)]
    public void Loopback_hosts_are_recognized(string host, bool loopback) => Assert.Equal(loopback, RegistryEndpoint.IsLoopback(host));
}

public sealed class RegistryPlatformTests
{
    private static ImageIndexDocument Index(params (string Os, string Arch, string? Variant)[] platforms) => new()
    {
        Manifests = platforms.Select((p, i) => new Descriptor
        {
            MediaType = MediaTypes.OciManifest,
            Digest = Digest.Of(Encoding.ASCII.GetBytes(i.ToString())).ToString(),
            Platform = new Platform { Os = p.Os, Architecture = p.Arch, Variant = p.Variant },
        }).ToList(),
    };

    [Fact]
    public void The_requested_platform_is_picked()
    {
        var index = Index(("linux", "arm64", "v8"), ("linux", "amd64", null), ("windows", "amd64", null));

        Assert.Equal("amd64", PlatformChoice.Choose(index, "linux/amd64").Platform!.Architecture);
        Assert.Equal("v8", PlatformChoice.Choose(index, "linux/arm64").Platform!.Variant);
        Assert.Equal("windows", PlatformChoice.Choose(index, "windows/amd64").Platform!.Os);
    }

    [Fact]
    public void A_missing_platform_names_what_the_index_has()
    {
        var index = Index(("linux", "arm64", "v8"));

        var e = Assert.Throws<SkiffException>(() => PlatformChoice.Choose(index, "linux/amd64"));

        Assert.Contains("linux/arm64/v8", e.Message);
    }

    [Fact]
    public void A_malformed_platform_is_refused() =>
        Assert.Throws<SkiffException>(() => PlatformChoice.Choose(Index(("linux", "amd64", null)), "amd64"));
}

public sealed class RegistryCredentialTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("skiff-auth-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("https://index.docker.io/v1/", "docker.io")]
    [InlineData("registry-1.docker.io", "docker.io")]
    [InlineData("http://127.0.0.1:5000", "127.0.0.1:5000")]
    [InlineData("Quay.io", "quay.io")]
    public void Keys_are_compared_by_host(string key, string host) => Assert.Equal(host, RegistryCredentials.HostOf(key));

    [Fact]
    public void Stored_credentials_are_found_in_a_0600_file_and_removed_on_logout()
    {
        var creds = new RegistryCredentials(Path.Combine(_dir, "skiff", "auth.json"), null);

        creds.Store("127.0.0.1:5000", new Credential("u", "p:w"));

        Assert.Equal(new Credential("u", "p:w"), creds.Find("127.0.0.1:5000"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(creds.AuthFilePath));
        Assert.True(creds.Remove("127.0.0.1:5000"));
        Assert.Null(creds.Find("127.0.0.1:5000"));
        Assert.False(creds.Remove("127.0.0.1:5000"));
    }

    [Fact]
    public void Dockers_config_json_is_read_when_skiff_has_nothing()
    {
        string docker = Path.Combine(_dir, "config.json");
        File.WriteAllText(docker, "{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"" + Convert.ToBase64String("me:pw"u8.ToArray()) + "\"}}, \"credsStore\": \"x\"}");
        var creds = new RegistryCredentials(Path.Combine(_dir, "auth.json"), docker);

        Assert.Equal(new Credential("me", "pw"), creds.Find("docker.io"));
        Assert.Null(creds.Find("quay.io"));
    }
}

/// <summary>The client and pull against an in-process registry that can misbehave on purpose.</summary>
public sealed class RegistryPullTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("skiff-pull-").FullName;
    private readonly FakeRegistry _registry = new();

    public void Dispose()
    {
        _registry.Dispose();
        TreeRemover.Remove(_root);
    }

    private ImageStore Store() => new(_root, new UnpackOptions { IgnoreOwners = Environment.UserName != "root" });

    private sealed class Quiet : ITransferProgress
    {
        public void Message(string line) { }
        public void Layer(Digest blob, string state, long done, long total) { }
    }

    private Credential? _credential;

    private RegistryClient Client(TlsPolicy? tls = null) =>
        new(RegistryEndpoint.For(_registry.Host, tls), _credential) { RetryDelay = TimeSpan.FromMilliseconds(5) };

    private string[] StoreFiles() => Directory.Exists(_root)
        ? Directory.GetFileSystemEntries(_root, "*", SearchOption.AllDirectories).Where(p => !p.EndsWith("store.lock")).Order().ToArray()
        : [];

    /// <summary>One image per platform (its Cmd says which), behind an OCI index tagged "multi".</summary>
    private (Digest Index, Dictionary<string, Digest> Layers) PublishMultiPlatform()
    {
        var descriptors = new List<Descriptor>();
        var layers = new Dictionary<string, Digest>();
        foreach (var arch in new[] { "arm64", "amd64" })
        {
            byte[] layer = new TarBuilder().File("arch", arch + new string('.', 200_000)).Gzip();
            byte[] tar = new TarBuilder().File("arch", arch + new string('.', 200_000)).Tar();
            var layerDigest = _registry.Blob(layer);
            layers[arch] = layerDigest;
            var config = new ImageConfig
            {
                Architecture = arch, Os = "linux",
                Config = new ContainerConfig { Cmd = ["echo", arch] },
                RootFs = new RootFs { DiffIds = [Digest.Of(tar).ToString()] },
            };
            byte[] configBytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(config, ImageJson.Default.ImageConfig);
            var manifest = new Manifest
            {
                MediaType = MediaTypes.OciManifest,
                Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = _registry.Blob(configBytes).ToString(), Size = configBytes.Length },
                Layers = [new Descriptor { MediaType = MediaTypes.OciLayerGzip, Digest = layerDigest.ToString(), Size = layer.Length }],
            };
            byte[] manifestBytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(manifest, ImageJson.Default.Manifest);
            var md = _registry.Manifest("app", null, manifestBytes, MediaTypes.OciManifest);
            descriptors.Add(new Descriptor { MediaType = MediaTypes.OciManifest, Digest = md.ToString(), Size = manifestBytes.Length, Platform = new Platform { Os = "linux", Architecture = arch } });
        }
        var index = new ImageIndexDocument { MediaType = MediaTypes.OciIndex, Manifests = descriptors };
        byte[] indexBytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(index, ImageJson.Default.ImageIndexDocument);
        return (_registry.Manifest("app", "multi", indexBytes, MediaTypes.OciIndex), layers);
    }

    private ImageRecord Pull(string reference, string platform = "linux/amd64", TlsPolicy? tls = null)
    {
        using var client = Client(tls);
        return new ImagePull(Store(), client, new Quiet()).PullAsync(ImageReference.Parse($"{_registry.Host}/{reference}"), platform, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
    }

    [Fact]
    public void An_index_is_resolved_by_platform_and_recorded_under_the_index_digest()
    {
        var (index, _) = PublishMultiPlatform();

        var image = Pull("app:multi");

        var store = Store();
        Assert.Equal(["echo", "amd64"], store.ReadLaunch(image).Cmd!);
        Assert.Contains($"{_registry.Host}/app@{index}", image.RepoDigests);
        Assert.Contains($"{_registry.Host}/app:multi", image.Names);
        var arm = Pull("app:multi", "linux/arm64");
        Assert.Equal(["echo", "arm64"], store.ReadLaunch(arm).Cmd!);
    }

    [Fact]
    public void A_connection_broken_mid_blob_resumes_with_a_range_request()
    {
        var (_, layers) = PublishMultiPlatform();
        _registry.BreakBlobOnce(layers["amd64"]);

        Pull("app:multi");

        Assert.Contains(_registry.Requests, r => r.StartsWith("GET /v2/app/blobs/" + layers["amd64"]) && r.Contains("range=bytes="));
    }

    [Fact]
    public void Server_errors_are_retried_then_reported_and_nothing_is_stored()
    {
        PublishMultiPlatform();
        _registry.FailAll = HttpStatusCode.InternalServerError;

        var e = Assert.Throws<SkiffException>(() => Pull("app:multi"));

        Assert.Contains("answered 500", e.Message);
        Assert.True(_registry.Requests.Count >= 4, string.Join('\n', _registry.Requests));
        Assert.DoesNotContain(StoreFiles(), p => p.Contains("/blobs/sha256/") || p.Contains("/layers/"));
    }

    [Fact]
    public void Verified_https_against_a_plain_http_registry_fails_at_once_without_retries()
    {
        PublishMultiPlatform();

        var e = Assert.Throws<SkiffException>(() => Pull("app:multi", tls: TlsPolicy.Verify));

        Assert.StartsWith($"cannot reach registry {_registry.Host}: TLS handshake failed", e.Message);
        Assert.Equal(1, _registry.Connections);
        Assert.Empty(StoreFiles());
    }

    [Fact]
    public void A_manifest_that_does_not_parse_is_refused()
    {
        _registry.Manifest("app", "junk", "{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"config\": 17}"u8.ToArray(), MediaTypes.OciManifest);

        var e = Assert.Throws<SkiffException>(() => Pull("app:junk"));

        Assert.Contains("does not parse", e.Message);
    }

    [Fact]
    public void A_blob_with_other_bytes_is_a_digest_mismatch_and_leaves_no_blob()
    {
        var (_, layers) = PublishMultiPlatform();
        _registry.Corrupt(layers["amd64"]);
        var before = StoreFiles();

        var e = Assert.Throws<SkiffException>(() => Pull("app:multi"));

        Assert.Contains("digest mismatch", e.Message);
        Assert.DoesNotContain(StoreFiles(), p => p.Contains("/blobs/sha256/") || p.Contains("/layers/") && !p.EndsWith("/layers") || Path.GetFileName(Path.GetDirectoryName(p)) == "ingest");
        Assert.NotNull(before);
    }

    [Fact]
    public void A_bearer_challenge_is_answered_with_a_token_for_the_pull_scope()
    {
        PublishMultiPlatform();
        _registry.BearerToken = "t0ken";

        Pull("app:multi");

        Assert.Contains(_registry.Requests, r => r.StartsWith("token ") && r.Contains("service=fake.registry") && r.Contains("scope=repository%3Aapp%3Apull"));
        Assert.Single(_registry.Requests, r => r.StartsWith("token "));
    }

    [Fact]
    public void The_token_service_gets_the_credentials_and_a_refusal_is_an_auth_error()
    {
        PublishMultiPlatform();
        _registry.BearerToken = "t0ken";
        _registry.TokenCredential = "me:pw";
        _credential = new Credential("me", "pw");

        Pull("app:multi");

        _credential = new Credential("me", "bad");
        var e = Assert.Throws<SkiffException>(() => Pull("app:multi"));
        Assert.StartsWith("authentication failed for", e.Message);
    }

    [Fact]
    public void Basic_auth_is_sent_once_the_registry_asks()
    {
        PublishMultiPlatform();
        _registry.RequireBasic = true;
        _credential = new Credential("me", "pw");

        Pull("app:multi");
    }

    [Fact]
    public void A_401_without_credentials_asks_for_login()
    {
        PublishMultiPlatform();
        _registry.RequireBasic = true;

        var e = Assert.Throws<SkiffException>(() => Pull("app:multi"));

        Assert.Equal($"authentication required: run skiff login {_registry.Host}", e.Message);
    }
}

/// <summary>
/// A registry's read side: manifests and blobs, with failures to order. A plain HTTP/1.1
/// server on a port the kernel picks (port 0), one request per connection: HttpListener
/// needs a port chosen beforehand, and its process-wide endpoint table breaks when two
/// listeners in the test run pick the same one.
/// </summary>
internal sealed class FakeRegistry : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, (byte[] Bytes, string Type)> _manifests = [];
    private readonly Dictionary<Digest, byte[]> _blobs = [];
    private readonly HashSet<Digest> _breakOnce = [];
    private readonly Lock _lock = new();

    public FakeRegistry()
    {
        _listener.Start();
        Host = $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _ = Task.Run(Serve);
    }

    public string Host { get; }
    public List<string> Requests { get; } = [];
    private int _connections;

    /// <summary>Connections accepted, HTTP or not.</summary>
    public int Connections => Volatile.Read(ref _connections);
    public HttpStatusCode? FailAll { get; set; }
    public bool RequireBasic { get; set; }

    /// <summary>When set, /v2/ wants "Bearer TOKEN", which /token hands out (to Basic u:p when TokenCredential is set).</summary>
    public string? BearerToken { get; set; }
    public string? TokenCredential { get; set; }

    public Digest Blob(byte[] data)
    {
        var d = Digest.Of(data);
        lock (_lock)
        {
            _blobs[d] = data;
        }
        return d;
    }

    public Digest Manifest(string repo, string? tag, byte[] bytes, string type)
    {
        var d = Digest.Of(bytes);
        lock (_lock)
        {
            _manifests[$"{repo}/{d}"] = (bytes, type);
            if (tag is not null)
            {
                _manifests[$"{repo}/{tag}"] = (bytes, type);
            }
        }
        return d;
    }

    public void BreakBlobOnce(Digest d)
    {
        lock (_lock)
        {
            _breakOnce.Add(d);
        }
    }

    public void Corrupt(Digest d)
    {
        lock (_lock)
        {
            var copy = (byte[])_blobs[d].Clone();
            copy[copy.Length / 2] ^= 0xff;
            _blobs[d] = copy;
        }
    }

    private async Task Serve()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }
            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => Handle(client));
        }
    }

    private sealed record Request(string Method, string Path, string Query, Dictionary<string, string> Headers)
    {
        public string? Header(string name) => Headers.GetValueOrDefault(name);
    }

    /// <summary>The request line and headers, up to the blank line; null when the client went away first.</summary>
    private static Request? ReadRequest(Socket client)
    {
        var head = new List<byte>();
        var buffer = new byte[1];
        while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (client.Receive(buffer) == 0)
            {
                return null;
            }
            if (head.Count == 0 && !char.IsAsciiLetterUpper((char)buffer[0]))
            {
                // Not HTTP (a TLS hello): answered as Go's HTTP server answers it.
                client.Send("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"u8);
                return null;
            }
            head.Add(buffer[0]);
        }
        var lines = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var requestLine = lines[0].Split(' ');
        string target = requestLine[1];
        int q = target.IndexOf('?');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            headers[line[..colon]] = line[(colon + 1)..].Trim();
        }
        return new Request(requestLine[0], q < 0 ? target : target[..q], q < 0 ? "" : target[q..], headers);
    }

    private void Handle(Socket client)
    {
        using var _ = client;
        try
        {
            if (ReadRequest(client) is not { } req)
            {
                return;
            }
            Respond(client, req);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private void Respond(Socket client, Request req)
    {
        string path = req.Path;
        string? range = req.Header("Range");
        lock (_lock)
        {
            Requests.Add($"{req.Method} {path}" + (range is null ? "" : " range=" + range));
        }
        if (FailAll is { } status)
        {
            Send(client, (int)status, []);
            return;
        }
        if (RequireBasic && req.Header("Authorization") is null)
        {
            Send(client, 401, [], "WWW-Authenticate: Basic realm=\"fake\"");
            return;
        }
        if (BearerToken is { } token)
        {
            if (path == "/token")
            {
                string? given = req.Header("Authorization");
                if (TokenCredential is { } tc && given != "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(tc)))
                {
                    Send(client, 401, []);
                    return;
                }
                lock (_lock)
                {
                    Requests.Add("token " + req.Query);
                }
                Send(client, 200, Encoding.UTF8.GetBytes("{\"token\": \"" + token + "\"}"), "Content-Type: application/json");
                return;
            }
            if (req.Header("Authorization") != "Bearer " + token)
            {
                Send(client, 401, [], $"WWW-Authenticate: Bearer realm=\"http://{Host}/token\",service=\"fake.registry\",scope=\"repository:app:pull\"");
                return;
            }
        }
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // /v2/REPO/manifests/REF or /v2/REPO/blobs/DIGEST (REPO without '/', enough here)
        (byte[] Bytes, string Type) m = default;
        byte[]? blob = null;
        bool isManifest, isBlob;
        lock (_lock)
        {
            isManifest = parts.Length == 4 && parts[2] == "manifests" && _manifests.TryGetValue(parts[1] + "/" + parts[3], out m);
            isBlob = !isManifest && parts.Length == 4 && parts[2] == "blobs" && Digest.TryParse(parts[3], out var d)
                && _blobs.TryGetValue(d, out blob);
        }
        if (isManifest)
        {
            Send(client, 200, m.Bytes!, "Content-Type: " + m.Type, head: req.Method == "HEAD");
            return;
        }
        if (isBlob)
        {
            bool broken;
            lock (_lock)
            {
                broken = _breakOnce.Remove(Digest.Of(blob!));
            }
            if (broken)
            {
                // The whole length promised, half of it sent, then a reset.
                client.Send(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {blob!.Length}\r\n\r\n"));
                client.Send(blob.AsSpan(0, blob.Length / 2));
                client.LingerState = new LingerOption(true, 0);
                return;
            }
            if (range is not null && range.StartsWith("bytes=") && range.EndsWith('-'))
            {
                int from = int.Parse(range["bytes=".Length..^1]);
                Send(client, 206, blob![from..], $"Content-Range: bytes {from}-{blob.Length - 1}/{blob.Length}");
                return;
            }
            Send(client, 200, blob!, head: req.Method == "HEAD");
            return;
        }
        Send(client, 404, []);
    }

    private static void Send(Socket client, int status, byte[] body, string? header = null, bool head = false)
    {
        var text = new StringBuilder($"HTTP/1.1 {status} {(HttpStatusCode)status}\r\n");
        if (header is not null)
        {
            text.Append(header).Append("\r\n");
        }
        text.Append($"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        client.Send(Encoding.ASCII.GetBytes(text.ToString()));
        if (!head)
        {
            client.Send(body);
        }
        client.Shutdown(SocketShutdown.Send);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
